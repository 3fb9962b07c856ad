"""docs/grafana-dashboard.json and docs/operations.md name only metrics that exist, and every
metric has a panel and a row in the docs."""

import json
import re
from pathlib import Path

from prometheus_client import Counter, Histogram

from oauth_console.metrics import registry

ROOT = Path(__file__).resolve().parents[3]
NAME = re.compile(r"\boauth_[a-z_]+\b")


def served_names() -> dict[str, set[str]]:
    """Each metric of the registry -> the sample names it serves."""
    names = {}
    for metric in vars(registry).values():
        if isinstance(metric, Counter):
            names[metric._name] = {f"{metric._name}_total"}
        elif isinstance(metric, Histogram):
            names[metric._name] = {f"{metric._name}_{suffix}" for suffix in ("bucket", "count", "sum")}
    return names


def test_the_dashboard_is_built_on_the_served_names():
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for expr in exprs for name in NAME.findall(expr)}
    served = served_names()
    assert used <= set().union(*served.values())
    for metric, samples in served.items():
        assert used & samples, f"{metric} has no panel"


def test_the_operations_doc_lists_every_metric():
    text = (ROOT / "docs" / "operations.md").read_text()
    for metric, samples in served_names().items():
        shown = f"`{metric}`" if metric.endswith("_seconds") else f"`{next(iter(samples))}`"
        assert shown in text, metric
