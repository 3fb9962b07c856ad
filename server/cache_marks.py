"""Once-per-interval marks in the cache: "record this at most once per N seconds".

The audit log records a client's authentication at an endpoint, and a token's use at a resource,
at most once per interval; a mark in the cache (shared by every worker when it is Redis) says
it was recorded. Two ways keep those marks off the hot path's round trips:

- **Read with the request's round trip.** An app registers a function naming the marks a
  client-authenticating protocol request (token, introspection, revocation) will ask about
  (`read_with_protocol_requests`); the rate limiter reads them in the one round trip it makes
  anyway (`server.cache_round_trip`), and `first_in_interval` answers from what it read. Only a
  mark that was absent costs a second round trip, once per interval, to claim it.
- **Remembered by the process.** A mark this process claimed, or found claimed, is remembered
  until it expires, so a bearer-protected view asks the cache about a token at most once per
  interval per worker, and in between makes no cache command at all.

When the cache fails, marks are kept in this process only (each worker records once per
interval) and the outage is logged once per retry window: recording must neither break the
request nor stop.

`server` never imports the apps that register here (the import contract): they call in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from django.core.cache import caches
from django.http import HttpRequest

from .cache_round_trip import CacheGuard, claim, logger

# The request attribute holding what the round trip read: {mark key: present}.
_READ_ATTRIBUTE = "_cache_marks_read"
# Marks a process remembers at most; past it the oldest go first (they only cost a round trip).
MAX_REMEMBERED = 10_000

MarkReader = Callable[[HttpRequest, str], Iterable[str]]
_readers: list[tuple[str, MarkReader]] = []

marks_guard = CacheGuard(
    logger,
    "once-per-interval marks kept in this process only: the cache is unavailable (%s: %s)",
)


def read_with_protocol_requests(reader: MarkReader, *, cache_alias: str = "default") -> MarkReader:
    """Register `reader(request, claimed_client_id) -> mark keys` (keys of cache `cache_alias`):
    those marks are read in the round trip of every client-authenticating protocol request whose
    counters live in that cache, for `first_in_interval(..., request=request)` to answer from."""
    if all(registered is not reader for _, registered in _readers):
        _readers.append((cache_alias, reader))
    return reader


def mark_keys(request: HttpRequest, client_id: str, cache_alias: str) -> list[str]:
    """The registered marks `request` (claiming `client_id`) should read from `cache_alias`."""
    return [key for alias, reader in _readers if alias == cache_alias for key in reader(request, client_id)]


def note_read(request: HttpRequest, found: dict[str, bool]) -> None:
    """Keep on `request` which marks its round trip found present."""
    setattr(request, _READ_ATTRIBUTE, found)


def read_in_round_trip(request: HttpRequest | None, key: str) -> bool | None:
    """Whether mark `key` was present when `request`'s round trip read it; None: not read."""
    return getattr(request, _READ_ATTRIBUTE, {}).get(key)


class _ProcessMarks:
    """Marks this process knows are held, with when each ends (wall clock, as the cache's)."""

    def __init__(self) -> None:
        self._ends: dict[str, float] = {}
        self._lock = threading.Lock()

    def held(self, key: str, now: float) -> bool:
        ends = self._ends.get(key)
        return ends is not None and ends > now

    def remember(self, key: str, ends: float, now: float) -> None:
        with self._lock:
            if len(self._ends) >= MAX_REMEMBERED:
                self._ends = {k: v for k, v in self._ends.items() if v > now}
                if len(self._ends) >= MAX_REMEMBERED:
                    self._ends = dict(list(self._ends.items())[MAX_REMEMBERED // 2 :])
            self._ends.pop(key, None)
            self._ends[key] = ends

    def forget(self) -> None:
        with self._lock:
            self._ends = {}


_process_marks = _ProcessMarks()


def forget_process_marks() -> None:
    """Forget every mark this process remembers (tests; a cache flushed by hand)."""
    _process_marks.forget()


def first_in_interval(
    key: str, seconds: int, *, request: HttpRequest | None = None, cache_alias: str = "default"
) -> bool:
    """Whether the caller is the first to claim mark `key` in the last `seconds` (then it does the
    once-per-interval work: records the event); always True when `seconds` <= 0.

    Decided by, in order: the request's round trip (the mark was present: False), this process's
    memory (a mark it claimed or saw claimed that has not ended: False), else one claim in the
    cache (`SET NX`), remembered until the claim ends. With the cache down, this process's
    memory alone decides."""
    if seconds <= 0:
        return True
    if read_in_round_trip(request, key):
        return False
    now = time.time()
    if _process_marks.held(key, now):
        return False
    claimed, remaining = True, float(seconds)
    if marks_guard.available:
        try:
            claimed, remaining = claim(caches[cache_alias], key, seconds)
        except Exception as exc:
            marks_guard.failed(exc)
    _process_marks.remember(key, now + remaining, now)
    return claimed
