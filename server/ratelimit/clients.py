"""Secret guessing: failed client authentications lock a client_id, except where it is known.

A client_id that failed too often from one address is locked at that address
(`auth_failures_client_ip`); one that failed too often across addresses (`auth_failures_client`, a
higher threshold) is locked everywhere except at addresses from which it authenticated
successfully before, so a distributed guesser cannot lock the real client out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from server import cache_round_trip as round_trip
from server.cache_round_trip import Counter, Gate, Outcome
from server.conf import server_settings

from .counters import cache, counter, counter_key, key, rate, retry_after


@dataclass(frozen=True)
class Claim:
    """Who a protocol request says it is: the client_id it claims, from which address, and
    whether that client authenticated from there before."""

    client_id: str
    ip: str
    trusted: bool = False


def _trusted_key(client_id: str, ip: str) -> str:
    return key("trusted", client_id, ip)


@dataclass(frozen=True)
class Checked:
    """What a claimed client's round trip found: the lock ((limit name, retry after) or None),
    whether the client authenticated from this address before, and the round trip itself (the
    request's counters, the other keys read)."""

    lock: tuple[str, int] | None
    trusted: bool
    outcome: Outcome
    # Every lockout counter read at most half its limit: no lock is near.
    far_from_lock: bool = True


def check(
    client_id: str, ip: str, now: float, *, counters: Sequence[Counter] = (), reads: Sequence[str] = ()
) -> Checked:
    """In one round trip: whether secret guessing for `client_id` is locked at `ip`, whether the
    client authenticated from `ip` before, and, unless locked, `counters` counted (stopping
    after the first over its limit); `reads` are read alongside."""
    return start_check(client_id, ip, now, counters=counters, reads=reads)()


def start_check(
    client_id: str, ip: str, now: float, *, counters: Sequence[Counter] = (), reads: Sequence[str] = ()
) -> Callable[[], Checked]:
    """`check` in two halves (`server.cache_round_trip.start`): sent now, answered by the
    returned function."""
    counters_cache = cache()
    trusted_key, gates, prepared = prepare_check(
        client_id, ip, now, counters_cache, counters=counters, reads=reads
    )
    return start_prepared(prepared, trusted_key, gates, now, counters_cache)


def prepare_check(
    client_id: str, ip: str, now: float, counters_cache, *, counters: Sequence[Counter], reads: Sequence[str]
) -> tuple[str, list[Gate], round_trip.Prepared]:
    """`check`'s round trip worked out, not sent (`start_prepared` sends it; the limiter keeps
    it per window, `plans`): the key saying `client_id` authenticated from `ip` before, the
    lockout counters read first (at `ip`, and everywhere but where it is trusted), and the
    round trip reading both with `reads` and counting `counters`."""
    trusted_key = _trusted_key(client_id, ip)
    gates = []
    for name, identity, unless in (
        ("auth_failures_client_ip", f"{client_id}|{ip}", ""),
        # Locked across addresses, but not where the real client authenticated before.
        ("auth_failures_client", client_id, trusted_key),
    ):
        rate_ = rate(name)
        if rate_:
            gates.append(Gate(counter_key(name, identity, rate_, now), rate_.limit, unless, name))
    prepared = round_trip.prepare(counters_cache, reads=[trusted_key, *reads], gates=gates, counters=counters)
    return trusted_key, gates, prepared


def start_prepared(
    prepared: round_trip.Prepared, trusted_key: str, gates: Sequence[Gate], now: float, counters_cache
) -> Callable[[], Checked]:
    """Send a claimed client's round trip worked out before (`prepare_check`) to
    `counters_cache` (the limiter's `cache()`); the returned function answers it."""
    answer = prepared.start(counters_cache)

    def checked() -> Checked:
        outcome = answer()
        lock = (outcome.gate.name, retry_after(outcome.gate.name, now)) if outcome.gate else None
        far = all(int(outcome.values.get(gate.key) or 0) * 2 <= gate.limit for gate in gates)
        return Checked(lock, bool(outcome.values.get(trusted_key)), outcome, far)

    return checked


def record_failure(claim: Claim, now: float) -> None:
    """Count a failed client authentication (`client_authentication_failed` was sent): its two
    counters in one round trip."""
    failures = [
        counter("auth_failures_client_ip", f"{claim.client_id}|{claim.ip}", now),
        counter("auth_failures_client", claim.client_id, now),
    ]
    round_trip.run(cache(), counters=[c for c in failures if c], stop_over_limit=False)


def record_success(claim: Claim) -> None:
    """Remember the address of a successful client authentication (`client_authenticated`)."""
    if not claim.trusted:
        cache().add(
            _trusted_key(claim.client_id, claim.ip),
            1,
            timeout=server_settings.OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL,
        )
