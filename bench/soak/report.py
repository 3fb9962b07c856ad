"""The soak's results: the load summarised, and the page written to bench/results/."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from pathlib import Path

from bench.soak import ROOT

RESULTS = ROOT / "bench" / "results"


def summarise(ledger, elapsed: float) -> dict:
    by_action: dict[str, dict] = {}
    for (action, status), count in sorted(ledger.statuses.items()):
        by_action.setdefault(action, {})[str(status)] = count
    latency = {
        action: {
            "p50_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(sorted(values)[int(len(values) * 0.95) - 1] * 1000, 1)
            if len(values) > 1
            else None,
            "count": len(values),
        }
        for action, values in ledger.latencies.items()
    }
    return {
        "requests": ledger.requests,
        "elapsed_s": round(elapsed, 1),
        "requests_per_s": round(ledger.requests / elapsed, 1) if elapsed else None,
        "status_by_action": by_action,
        "latency": latency,
        "server_errors": len(ledger.server_errors),
        "transport_errors": len(ledger.transport_errors),
        "mismatches": len(ledger.mismatches),
    }


def write_report(result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H%M")
    path = RESULTS / f"{stamp}-soak-postgresql.md"
    lines = [
        f"# Soak, {stamp} UTC ({'PASS' if result['passed'] else 'FAIL'})",
        "",
        f"`python -m bench.soak {' '.join(result['argv'])}`: {result['load']['requests']} requests in "
        f"{result['load']['elapsed_s']} s ({result['load']['requests_per_s']}/s), gunicorn "
        f"{result['gunicorn']}, PostgreSQL, {result['clients']} virtual clients.",
        "",
        "| Check | Result |",
        "| --- | --- |",
    ]
    for name, value in result["checks"].items():
        lines.append(f"| {name} | {value} |")
    lines += ["", "## Counts", "", "```json", json.dumps(result["counts"], indent=2), "```", ""]
    lines += [
        "## Status codes by action",
        "",
        "```json",
        json.dumps(result["load"]["status_by_action"], indent=2),
    ]
    lines += ["```", "", "## Latency", "", "```json", json.dumps(result["load"]["latency"], indent=2), "```"]
    if result["failures"]:
        lines += ["", "## Failures", ""] + [f"- {failure}" for failure in result["failures"][:50]]
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    return path
