"""A client's round trip, worked out once per address and window, then reused.

Every token, introspection or revocation request of a client from an address asks the cache the
same thing until one of its windows ends: the same counter keys (they name the window), the same
lockout counters, the same trusted-address key, the same marks. Working that out (five hashed
keys, two gates, two counters, the script's arguments, the keys in the cache's spelling, the
packed command) was most of the limiter's cost per request (`bench.request_cost
--instructions`), so each worker keeps it (`Plan`) for the pair until the earliest of its
windows ends, and only counts, reads and decides per request. What is sent, and what each
answer means, is exactly what working it out again would give:

- a plan is used only while `now` is inside every window it names (`since <= now < until`);
- its key holds everything else it was worked out from (scope, client, address, the marks the
  request reads, the cache alias), and the plans are forgotten when a setting they read changes
  (rates, the limiter's cache, CACHES: key prefix and version);
- at most MAX_PLANS per worker; past it they are all forgotten (they only cost working out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.signals import setting_changed
from django.dispatch import receiver

from server import cache_round_trip as round_trip
from server.cache_round_trip import Counter, Gate

from .clients import prepare_check
from .counters import counter, rate, window

MAX_PLANS = 10_000

# Settings a plan is worked out from (the rates and the cache that holds the counters).
_READ_SETTINGS = frozenset({"OAUTH2_RATE_LIMITS", "OAUTH2_RATE_LIMIT_CACHE", "CACHES"})


@dataclass(frozen=True)
class Plan:
    """What a client-authenticating request of `client_id` at `ip` sends, and reads back with."""

    counted: tuple[Counter, ...]
    gates: tuple[Gate, ...]
    trusted_key: str
    prepared: round_trip.Prepared
    since: float  # the latest start among its windows
    until: float  # the earliest end among its windows


_plans: dict[tuple, Plan] = {}


def plan_for(
    scope: str, client_id: str, ip: str, marks: Sequence[str], now: float, cache, alias: str
) -> Plan:
    """The plan for this request: kept, or worked out (and kept) when none holds `now`."""
    key = (scope, client_id, ip, tuple(marks), alias)
    plan = _plans.get(key)
    if plan is not None and plan.since <= now < plan.until:
        return plan
    plan = _work_out(scope, client_id, ip, marks, now, cache)
    if len(_plans) >= MAX_PLANS:
        _plans.clear()
    _plans[key] = plan
    return plan


def _work_out(scope: str, client_id: str, ip: str, marks: Sequence[str], now: float, cache) -> Plan:
    names = [f"{scope}_ip", f"{scope}_client"]
    counted = tuple(c for c in (counter(names[0], ip, now), counter(names[1], client_id, now)) if c)
    trusted_key, gates, prepared = prepare_check(client_id, ip, now, cache, counters=counted, reads=marks)
    since, until = float("-inf"), float("inf")
    for name in [*names, *(gate.name for gate in gates)]:
        rate_ = rate(name)
        if rate_ is not None:
            start, _ = window(rate_, now)
            since, until = max(since, start), min(until, start + rate_.window)
    return Plan(counted, tuple(gates), trusted_key, prepared, since, until)


def forget() -> None:
    """Forget every plan (tests; a cache whose keys changed by hand)."""
    _plans.clear()


@receiver(setting_changed, dispatch_uid="server.ratelimit.plans.settings")
def _forget_on_change(setting: str, **kwargs) -> None:
    if setting in _READ_SETTINGS:
        _plans.clear()
