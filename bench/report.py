"""Turn measurements into the results page (Markdown table, targets, raw rounds) and a chart."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.scenarios import Scenario
from bench.stats import Measurement, ratio, round_ratios, spread, summarize
from bench.targets import SERVER_LABELS


@dataclass(frozen=True)
class Goal:
    """A target ratio of issue 13: `ours` (production) of scenario `scenario` against `against`."""

    scenario: str
    against: str
    minimum: float
    text: str


# Issue 13's targets: PostgreSQL + Redis, production settings, the references at their defaults.
# (Issue 7's, on the local-memory cache, were 0.60 / 50 / 1.1 / 0.85 / 1.4 / 0.75.)
GOALS = (
    Goal("client_credentials", "dot-plain", 1.50, "client_credentials ≥ 1.5x DOT (hashing off)"),
    Goal("client_credentials", "dot-hashed", 100.0, "client_credentials ≥ 100x DOT (default hashed secret)"),
    Goal("client_credentials", "bare-insert", 0.55, "client_credentials ≥ 0.55x bare INSERT"),
    Goal("bearer", "dot", 2.20, "bearer GET ≥ 2.2x DOT"),
    Goal("bearer", "bare-select", 0.95, "bearer GET ≥ 0.95x bare SELECT"),
    Goal("introspection", "dot", 2.00, "introspection ≥ 2x DOT"),
    Goal("introspection", "bare-select", 0.75, "introspection ≥ 0.75x bare SELECT"),
    Goal("openid", "dot", 1.50, "OpenID Connect sign-in ≥ 1.5x DOT (issue 14)"),
)


def key(scenario: Scenario, target: str) -> str:
    """The measurement name of `target` within `scenario` (targets repeat across scenarios)."""
    return f"{scenario.key}/{target}"


def format_ratio(value: float) -> str:
    """A ratio as people read it: 0.72x, 1.3x, 64x; a dash when it is unknown."""
    if value is None or math.isnan(value):
        return "—"
    if value >= 10:
        return f"{value:.0f}x"
    if value >= 1:
        return f"{value:.2f}x"
    return f"{value:.2f}x"


def format_number(value: float, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:,.{digits}f}"


def scenario_rows(scenario: Scenario, measurements: Sequence[Measurement]) -> list[list[str]]:
    """The table rows of one scenario: ours first (then its secondary lines), then the
    references, then the floor."""
    order = [scenario.ours, *scenario.secondary, *scenario.references, scenario.bare]
    rows = []
    for name in order:
        target = scenario.target(name)
        summary = summarize(measurements, key(scenario, name))
        if name == scenario.bare:
            vs_bare = "1.00x" if summary.rounds else "—"
        else:
            vs_bare = format_ratio(ratio(measurements, key(scenario, name), key(scenario, scenario.bare)))
        if name == scenario.ours or name in scenario.secondary:
            parts = []
            for reference in scenario.references:
                value = ratio(measurements, key(scenario, name), key(scenario, reference))
                suffix = f" ({reference.removeprefix('dot-')})" if reference != "dot" else ""
                parts.append(format_ratio(value) + suffix)
            vs_dot = " · ".join(parts)
        else:
            vs_dot = "—"
        rows.append(
            [
                scenario.title if name == scenario.ours else "",
                target.label,
                format_number(summary.rate) + ("" if scenario.unit == "req/s" else f" {scenario.unit}"),
                format_number(summary.p50_ms, 2),
                format_number(summary.p99_ms, 2),
                str(summary.errors),
                vs_bare,
                vs_dot,
            ]
        )
    return rows


HEADER = ["Scenario", "Server", "ops/s", "p50 ms", "p99 ms", "errors", "vs bare Django", "vs DOT"]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped)."""

    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def results_table(scenarios: Sequence[Scenario], measurements: Sequence[Measurement]) -> str:
    rows = [row for scenario in scenarios for row in scenario_rows(scenario, measurements)]
    return markdown_table(HEADER, rows)


def goals_table(scenarios: Sequence[Scenario], measurements: Sequence[Measurement]) -> str:
    by_key = {s.key: s for s in scenarios}
    rows = []
    for goal in GOALS:
        scenario = by_key.get(goal.scenario)
        if scenario is None:
            continue
        values = round_ratios(measurements, key(scenario, scenario.ours), key(scenario, goal.against))
        value = ratio(measurements, key(scenario, scenario.ours), key(scenario, goal.against))
        if math.isnan(value):
            met = "not measured"
        else:
            met = "yes" if value >= goal.minimum else f"no ({value / goal.minimum:.0%} of the target)"
        rows.append([goal.text, format_ratio(value), f"{spread(values):.0%}" if values else "—", met])
    return markdown_table(["Target (issue 13, 14)", "Median of round ratios", "Round spread", "Met"], rows)


def production_table(scenarios: Sequence[Scenario], measurements: Sequence[Measurement]) -> str:
    """Issue 13's summary: ours with Redis (production) and with the local-memory cache, each as
    a ratio to django-oauth-toolkit (hashing off) and to its bare-Django floor."""
    if not scenarios:
        return ""
    names = [scenarios[0].ours, *scenarios[0].secondary]
    rows = []
    for scenario in scenarios:
        dot = "dot-plain" if "dot-plain" in {t.name for t in scenario.targets} else "dot"
        for against, text in ((dot, "DOT (hashing off)"), (scenario.bare, "bare Django")):
            values = [ratio(measurements, key(scenario, n), key(scenario, against)) for n in names]
            rows.append([f"{scenario.key} ÷ {text}", *map(format_ratio, values)])
    return markdown_table(["Ratio", *(SERVER_LABELS.get(n, n) for n in names)], rows)


def rounds_table(scenarios: Sequence[Scenario], measurements: Sequence[Measurement]) -> str:
    rows = []
    for scenario in scenarios:
        for target in scenario.targets:
            mine = [m for m in measurements if m.target == key(scenario, target.name)]
            rates = ", ".join(f"{m.rate:.1f}" for m in sorted(mine, key=lambda m: m.round))
            rows.append([scenario.key, target.name, rates])
    return markdown_table(["Scenario", "Target", "ops/s per round"], rows)


def render_markdown(
    scenarios: Sequence[Scenario], measurements: Sequence[Measurement], meta: dict, chart: str | None
) -> str:
    """The whole results page."""
    setup = "\n".join(f"- {name}: {value}" for name, value in meta.items())
    notes = "\n".join(f"- {s.title}: {s.note}" for s in scenarios if s.note)
    parts = [
        f"# Benchmark results, {meta.get('date', '')} ({meta.get('database', '')})",
        "",
        "Produced by `make bench` (`python -m bench.run`). Ratios are the median of per-round ratios "
        "(both servers measured in the same round, in shuffled order), which hold far better than "
        "absolute req/s on a shared machine. p50/p99 and ops/s are medians over rounds; errors are "
        "summed.",
        "",
        "## Setup",
        "",
        setup,
        "",
        "## Results",
        "",
        results_table(scenarios, measurements),
        "",
    ]
    if chart:
        parts += [f"![ops/s per scenario]({chart})", ""]
    parts += ["## Production at a glance", "", production_table(scenarios, measurements), ""]
    parts += [
        "## Targets",
        "",
        "Issue 13's, for ours in production (Redis). A missed target shows how far off it is; "
        "`python -m bench.profile` shows where the time goes.",
        "",
        goals_table(scenarios, measurements),
        "",
    ]
    if notes:
        parts += ["## Notes", "", notes, ""]
    parts += ["## Every round", "", rounds_table(scenarios, measurements), ""]
    return "\n".join(parts)


def render_chart(scenarios: Sequence[Scenario], measurements: Sequence[Measurement], path: Path) -> Path:
    """A horizontal bar chart of ops/s (log scale: a hashed-secret DOT is 100x slower)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"ours": "#0d6efd", "ours-local": "#9ec5fe", "dot": "#fd7e14", "bare": "#6c757d"}
    labels, values, bar_colours = [], [], []
    bar_colours_servers: set[str] = set()
    for scenario in reversed(scenarios):
        for name in reversed([scenario.ours, *scenario.secondary, *scenario.references, scenario.bare]):
            target = scenario.target(name)
            summary = summarize(measurements, key(scenario, name))
            labels.append(f"{scenario.key}: {target.label}")
            values.append(summary.rate if not math.isnan(summary.rate) else 0.0)
            bar_colours.append(colours[target.server])
            bar_colours_servers.add(target.server)
    figure, axes = plt.subplots(figsize=(11, 0.38 * len(labels) + 1.5))
    bars = axes.barh(range(len(labels)), [max(v, 0.1) for v in values], color=bar_colours)
    axes.set_yticks(range(len(labels)), labels, fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("operations per second (median of rounds, log scale)")
    axes.set_title("oauth-console (production: Redis) vs django-oauth-toolkit vs bare Django")
    for bar, value in zip(bars, values, strict=True):
        axes.text(
            bar.get_width() * 1.05,
            bar.get_y() + bar.get_height() / 2,
            f"{value:,.0f}",
            va="center",
            fontsize=7,
        )
    shown = [s for s in colours if s in bar_colours_servers]
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[s]) for s in shown]
    axes.set_xlim(right=max([*values, 1.0]) * 4)  # room for the value labels
    axes.legend(handles, [SERVER_LABELS[s] for s in shown], loc="upper right", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
