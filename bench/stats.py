"""Measurements and the arithmetic on them: per-target summaries and per-round ratios.

Absolute throughput on a shared 2-core machine swings up to 2x between runs, while two servers
measured back to back in the same round move together; so a comparison is the median of the
per-round ratios, never the ratio of two medians taken at different times.
"""

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Measurement:
    """One burst of one target in one round, as wrk reported it."""

    target: str
    round: int
    operations: int  # successful operations (a request, or a whole flow)
    requests: int  # HTTP requests wrk completed
    duration_s: float
    errors: int  # socket errors, timeouts and unexpected statuses
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        """Successful operations per second."""
        return self.operations / self.duration_s if self.duration_s > 0 else 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Summary:
    """A target over all rounds: medians of the per-round figures, errors added up."""

    target: str
    rounds: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    operations: int


def median(values: Iterable[float]) -> float:
    """The median, or NaN when there is nothing to take it of."""
    values = list(values)
    return statistics.median(values) if values else float("nan")


def summarize(measurements: Sequence[Measurement], target: str) -> Summary:
    """Summarize one target's measurements."""
    mine = [m for m in measurements if m.target == target]
    return Summary(
        target=target,
        rounds=len(mine),
        rate=median(m.rate for m in mine),
        p50_ms=median(m.p50_ms for m in mine),
        p99_ms=median(m.p99_ms for m in mine),
        errors=sum(m.errors for m in mine),
        operations=sum(m.operations for m in mine),
    )


def round_ratios(measurements: Sequence[Measurement], numerator: str, denominator: str) -> list[float]:
    """numerator/denominator rate in every round where both ran (and the denominator did work)."""
    by_round: dict[int, dict[str, Measurement]] = {}
    for m in measurements:
        by_round.setdefault(m.round, {})[m.target] = m
    ratios = []
    for round_number in sorted(by_round):
        pair = by_round[round_number]
        if numerator in pair and denominator in pair and pair[denominator].rate > 0:
            ratios.append(pair[numerator].rate / pair[denominator].rate)
    return ratios


def ratio(measurements: Sequence[Measurement], numerator: str, denominator: str) -> float:
    """The median of the per-round ratios (NaN when the two never ran in the same round)."""
    return median(round_ratios(measurements, numerator, denominator))


def spread(values: Sequence[float]) -> float:
    """(max - min) / median of per-round values: how much the rounds disagreed."""
    if len(values) < 2:
        return 0.0
    middle = median(values)
    return (max(values) - min(values)) / middle if middle else float("nan")
