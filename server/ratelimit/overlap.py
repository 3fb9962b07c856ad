"""A protocol request's round trip overlapping its database lookup, while nothing is near a limit.

A token, introspection or revocation request waits for two servers in turn: Redis (the rate
limiter's one round trip) and then PostgreSQL (the client, and the token it names). Neither
lookup depends on the other, so the limiter may send its script, let the view run, and read the
answer when the client lookup has come back from the database, before any credential found
there is checked (`server.outstanding_round_trip.settle`, called by the binding's `query_client`):
one wait instead of two. What the limiter protects is unchanged:

- no secret, assertion or token is checked before the limiter has answered, and a refused
  request is answered 429 as before, with nothing written (the lookup only reads);
- a request counts against its limits exactly as before (the same script, sent at the same
  point);
- a flood is not let through to the database: the overlap is used only for a client and address
  whose last answer in this worker, within the last CALM_SECONDS, found every counter and lockout
  counter at most half its limit. Anything nearer a limit, and the first request of a client and
  address in a worker, waits for the limiter's answer first, as before; so past half a limit a
  refused request never reaches the database, and before it at most one per worker does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from server.cache_round_trip import Counter

# How long a calm answer lets the next requests of the same client and address overlap.
CALM_SECONDS = 10.0
# Pairs remembered per worker at most; past it all are forgotten (they only cost a wait).
MAX_REMEMBERED = 10_000

_calm_until: dict[tuple[str, str, str], float] = {}


def allowed(scope: str, client_id: str, ip: str) -> bool:
    """May this request's round trip overlap its database lookup?"""
    return bool(client_id) and _calm_until.get((scope, client_id, ip), 0.0) > time.monotonic()


def note(
    scope: str, client_id: str, ip: str, counters: Sequence[Counter], counts: Sequence[int], *, calm: bool
) -> None:
    """Remember what a client-authenticating request's round trip found: `calm` (no lock near)
    and every counter counted at most half its limit, or not."""
    key = (scope, client_id, ip)
    counted_all = len(counts) == len(counters)
    if calm and counted_all and all(count * 2 <= c.limit for c, count in zip(counters, counts, strict=True)):
        if len(_calm_until) >= MAX_REMEMBERED:
            _calm_until.clear()
        _calm_until[key] = time.monotonic() + CALM_SECONDS
    else:
        _calm_until.pop(key, None)


def forget() -> None:
    """Forget every calm pair (tests)."""
    _calm_until.clear()
