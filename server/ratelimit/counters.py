"""Fixed-window counters in the cache, the configured rates, and the cache-outage guard.

Counting goes through `server.cache_round_trip` (one Lua script on Redis, Django's cache API
elsewhere), so a request's counters and reads can share one round trip.

Every function takes the current time (`now`) from its caller: the clock is read once per
request, in `server.ratelimit` (the seam tests pin).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import caches

from server import cache_round_trip as round_trip
from server.cache_round_trip import CACHE_RETRY_SECONDS as CACHE_RETRY_SECONDS  # re-exported
from server.cache_round_trip import CacheGuard, Counter
from server.conf import server_settings

# One logger for the whole limiter, whichever module speaks.
logger = logging.getLogger("server.ratelimit")


@dataclass(frozen=True)
class Rate:
    """At most `limit` events per fixed window of `window` seconds."""

    limit: int
    window: int

    @classmethod
    def parse(cls, text: str | None) -> Rate | None:
        """ "30/60" -> Rate(30, 60); "", "0" or "off" -> None (no limit). Raises ValueError."""
        text = (text or "").strip().lower()
        if text in {"", "0", "off", "none"}:
            return None
        count, _, seconds = text.partition("/")
        rate = cls(int(count), int(seconds or 1))
        if rate.limit < 1 or rate.window < 1:
            raise ValueError(f"a rate needs a positive count and window, got {text!r}")
        return rate


@dataclass(frozen=True)
class Throttle:
    """Why a request was refused and when the caller may try again."""

    scope: str
    limit: str  # the OAUTH2_RATE_LIMITS key that tripped
    retry_after: int
    client_id: str = ""
    ip: str = ""


def rate(name: str) -> Rate | None:
    """The configured rate called `name` (None: not limited)."""
    return _parsed(server_settings.OAUTH2_RATE_LIMITS.get(name))


@functools.lru_cache(maxsize=64)
def _parsed(text: str | None) -> Rate | None:
    # Settings may change in tests, so the text is the key, not the name.
    return Rate.parse(text)


@functools.lru_cache(maxsize=4096)
def key(*parts: str) -> str:
    """A cache key for `parts` (the first names what it counts). Kept: a protocol request builds
    five (its two counters, the client's two lockout counters, its trusted address), the same
    ones as the requests before it in the window, and hashing each cost more than the rest of
    building it (bench.request_cost --instructions)."""
    # Hashed: client ids, user names and addresses may hold characters memcached/Redis keys
    # should not, and the key must not grow with the input.
    ident = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"ratelimit:{parts[0]}:{ident}"


class _CacheGuard(CacheGuard):
    """The limiter's cache guard: after a failure, limiting is skipped for CACHE_RETRY_SECONDS."""

    def __init__(self) -> None:
        super().__init__(
            logger, "rate limiting skipped: the cache is unavailable (%s: %s); requests are allowed"
        )

    def _clock(self) -> float:
        # This module's `time`: the seam tests move.
        return time.monotonic()


cache_guard = _CacheGuard()


def cache():
    """The cache holding the counters (OAUTH2_RATE_LIMIT_CACHE)."""
    return caches[server_settings.OAUTH2_RATE_LIMIT_CACHE]


def window(rate_: Rate, now: float) -> tuple[int, int]:
    """(window start, seconds until the window ends, at least 1)."""
    start = int(now // rate_.window) * rate_.window
    return start, max(1, math.ceil(start + rate_.window - now))


def counter_key(name: str, identity: str, rate_: Rate, now: float) -> str:
    """The key of `identity`'s counter for rate `name` in the window holding `now`."""
    start, _ = window(rate_, now)
    return key(name, identity, str(rate_.window), str(start))


def counter(name: str, identity: str, now: float) -> Counter | None:
    """`identity`'s counter for rate `name` in the window holding `now`, to count in a round trip
    (`server.cache_round_trip`); None when `name` is not limited or there is no identity. It
    lives one second longer than its window."""
    rate_ = rate(name)
    if rate_ is None or not identity:
        return None
    return Counter(counter_key(name, identity, rate_, now), rate_.limit, rate_.window + 1, name)


def retry_after(name: str, now: float) -> int:
    """Seconds until the window of rate `name` holding `now` ends (at least 1)."""
    return window(rate(name), now)[1]


def count(name: str, identity: str, now: float, *, counted: list[str] | None = None) -> int | None:
    """Count one event against rate `name` for `identity`; seconds to wait if over, else None.

    The key of the counter is appended to `counted`, for a caller that may take the event back
    (see `uncount`)."""
    counter_ = counter(name, identity, now)
    if counter_ is None:
        return None
    outcome = round_trip.run(cache(), counters=[counter_])
    if counted is not None:
        counted.append(counter_.key)
    return retry_after(name, now) if outcome.over_limit([counter_]) else None


def uncount(keys: Iterable[str]) -> None:
    """Take back one event from each counter in `keys` (those `count` appended)."""
    cache_ = cache()
    for counter in keys:
        # ValueError: the window ended and its counter expired, there is nothing to take back.
        with contextlib.suppress(ValueError):
            cache_.decr(counter)
