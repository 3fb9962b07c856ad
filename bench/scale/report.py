"""bench.scale's results page: one row per measurement (p50/p95 or the one run, against its
target) and the page around the table."""

import math
import os
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.scale.seeding import SPAN_DAYS


@dataclass
class Row:
    """One line of the results table."""

    what: str
    samples: list[float]  # seconds
    target_s: float | None = None
    percentile: str = "p95"
    note: str = ""

    def quantile(self, q: float) -> float:
        values = sorted(self.samples)
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]

    def cells(self) -> list[str]:
        def ms(value: float) -> str:
            return "—" if math.isnan(value) else f"{value * 1000:,.0f}"

        if len(self.samples) > 1:
            p50, p95 = self.quantile(0.5), self.quantile(0.95)
            measured = p95
            timing = [ms(p50), ms(p95)]
        else:
            measured = self.samples[0] if self.samples else float("nan")
            timing = ["", ms(measured)]
        if self.target_s is None:
            verdict = ""
        elif math.isnan(measured):
            verdict = "failed"
        else:
            verdict = (
                "yes" if measured <= self.target_s else f"no ({measured / self.target_s:.1f}x the target)"
            )
        target = "" if self.target_s is None else f"< {self.target_s * 1000:,.0f} ms"
        return [self.what, str(len(self.samples)), *timing, target, verdict, self.note]


def render(args, rows: list[Row], seeding: dict) -> str:
    from django.db import connection

    from bench.report import markdown_table

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    header = ["Measurement", "n", "p50 ms", "p95 ms (or the one run)", "Target", "Met", "Note"]
    return "\n".join(
        [
            f"# Scale results, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            "Produced by `python -m bench.scale` (bench/scale/).",
            "",
            f"- PostgreSQL {version}, {os.cpu_count()} CPUs; Django test client in process, DEBUG off, "
            "a signed-in superuser",
            f"- {args.tokens:,} tokens (half of them one client's; ~97% expired) "
            f"seeded in {seeding.get('token_seconds', '?')}s; "
            f"{args.events:,} audit events over {SPAN_DAYS} days "
            f"seeded in {seeding.get('event_seconds', '?')}s "
            "(indexes rebuilt after the load)"
            + (f"; setup in all {seeding['seeded_in']}s" if "seeded_in" in seeding else ""),
            f"- pages: {args.repeat} timed requests each after 2 warm-ups; load average (1 min) "
            f"during the pages {seeding.get('load', '?')} (`os.getloadavg`)",
            "- targets (issue 13 §6): list pages and dashboard p95 < 300 ms; pruning a month < 1 s; "
            "cleartokens of ten million < 5 min (scaled to the number deleted); revoke-all (issue 7: "
            "500k < 10 s) is reported without a target",
            "",
            markdown_table(header, [row.cells() for row in rows]),
            "",
        ]
    )
