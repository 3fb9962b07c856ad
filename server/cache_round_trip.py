"""One cache round trip per protocol request: the keys it reads and the counters it counts, together.

A token, introspection or revocation request needs from the cache: the lockout counters of the
client it claims and whether that client authenticated from this address before (read), its
address's and client's request counters (counted), and the marks other apps registered to read
with it (`server.cache_marks`: the audit log's "client authenticated here this interval").
`run` sends all of that at once:

- on Redis (Django's `RedisCache`), as one Lua script: `EVALSHA`, or `EVAL` when the server does
  not know the script yet (after a restart or `SCRIPT FLUSH`). One command, one round trip, and
  atomic: no other request's counting can fall between a lockout's read and the counting it
  stops;
- on any other cache (local memory in development and tests, or a custom backend), the same
  semantics through Django's cache API (`get_many`, then `incr` or `add` per counter).

Keys are the same either way (`cache.make_key`: KEY_PREFIX and version applied) and
values are stored as Django's Redis serializer stores integers, so both paths, and Django's
cache API, read each other's counters and marks.

Semantics: every read is taken first. A gate (a lockout counter) at or over its limit stops
everything after it, unless its `unless` key is present (an address the client authenticated
from before). Otherwise the counters are incremented in order; a counter's first increment in
its window sets its lifetime (fixed windows: the key names the window, it dies after it); with
`stop_over_limit`, counting stops after the first counter over its limit, so a request refused
for its address is not also counted against its client.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from server import signals

logger = logging.getLogger("server.cache")

# After a cache error, leave the cache alone for this long, so an outage costs one connect
# timeout per few seconds rather than one per request.
CACHE_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Counter:
    """A fixed-window counter: one more event, at most `limit` allowed, the key lives `ttl` s."""

    key: str
    limit: int
    ttl: int
    name: str = ""  # the caller's label (the rate it counts); not sent


@dataclass(frozen=True)
class Gate:
    """A counter read before counting: at or over `limit` it stops the request, unless the key
    `unless` is present."""

    key: str
    limit: int
    unless: str = ""
    name: str = ""  # the caller's label; not sent


@dataclass(frozen=True)
class Outcome:
    """What a round trip found: each read key's value (None: absent), the gate that stopped the
    request (None: none did), and the new value of each counter counted, in order (fewer than
    asked for when counting stopped)."""

    values: dict[str, Any] = field(default_factory=dict)
    gate: Gate | None = None
    counts: tuple[int, ...] = ()

    def over_limit(self, counters: Sequence[Counter]) -> Counter | None:
        """The first of `counters` (those passed to `run`) that went over its limit, or None."""
        for counter, value in zip(counters, self.counts, strict=False):
            if value > counter.limit:
                return counter
        return None


def run(
    cache,
    *,
    reads: Iterable[str] = (),
    gates: Sequence[Gate] = (),
    counters: Sequence[Counter] = (),
    stop_over_limit: bool = True,
) -> Outcome:
    """Read `reads`, check `gates`, count `counters` in `cache`: one round trip on Redis.

    Raises what the cache raises (a Redis outage): the caller decides to fail open."""
    return start(cache, reads=reads, gates=gates, counters=counters, stop_over_limit=stop_over_limit)()


def start(
    cache,
    *,
    reads: Iterable[str] = (),
    gates: Sequence[Gate] = (),
    counters: Sequence[Counter] = (),
    stop_over_limit: bool = True,
) -> Callable[[], Outcome]:
    """`run`, in two halves: the command is sent now, and the returned function waits for its
    answer, so that the caller can do other work meanwhile (a database lookup) while Redis
    runs the script. Call the function exactly once (it gives the connection back); the work
    done meanwhile must not depend on the outcome. On other caches the work is done now.

    Both halves raise what the cache raises."""
    prepared = prepare(cache, reads=reads, gates=gates, counters=counters, stop_over_limit=stop_over_limit)
    return prepared.start(cache)


class Prepared:
    """A round trip worked out once (`prepare`): the script's arguments, and after the first
    send its keys in the cache's spelling and the packed command. `start(cache)` (the same
    cache alias) sends it, as often as wanted: the rate limiter keeps one per client, address
    and window (`server.ratelimit.plans`)."""

    __slots__ = ("args", "counters", "full_keys", "gates", "keys", "packed", "stop_over_limit")

    def __init__(self, cache, keys: list[str], gates, counters, stop_over_limit: bool) -> None:
        self.keys, self.gates, self.counters = keys, tuple(gates), tuple(counters)
        self.stop_over_limit = stop_over_limit
        index = {key: position for position, key in enumerate(keys, start=1)}
        args: list = [len(keys), len(gates), int(stop_over_limit)]
        for gate in gates:
            args += [index[gate.key], gate.limit, index[gate.unless] if gate.unless else 0]
        for counter in counters:
            args += [counter.limit, counter.ttl]
        self.args = args
        self.full_keys: list[str] | None = None  # the keys in Redis's spelling, on first send
        self.packed: list[bytes] | None = None

    def start(self, cache) -> Callable[[], Outcome]:
        if not self.keys and not self.counters:
            return lambda: Outcome()
        redis_client = _redis_client(cache)
        if redis_client is None:
            found = _run_through_cache_api(cache, self.keys, self.gates, self.counters, self.stop_over_limit)
            return lambda: found
        if self.full_keys is None:
            # make_key, not make_and_validate_key: validation only warns about keys memcached
            # would refuse (a Python loop over every character, ~10 us a key), and this path is
            # Redis's alone, with keys of our own making (hashed: `ratelimit.counters.key`).
            self.full_keys = [cache.make_key(key) for key in [*self.keys, *(c.key for c in self.counters)]]
        reply = _send(redis_client, _ROUND_TRIP, self.full_keys, self.args, prepared=self)
        return lambda: _outcome(cache, self.keys, self.gates, reply())


def prepare(
    cache,
    *,
    reads: Iterable[str] = (),
    gates: Sequence[Gate] = (),
    counters: Sequence[Counter] = (),
    stop_over_limit: bool = True,
) -> Prepared:
    """The round trip `start` would send, worked out and kept for `Prepared.start`."""
    keys = list(dict.fromkeys([*reads, *(g.key for g in gates), *(g.unless for g in gates if g.unless)]))
    return Prepared(cache, keys, gates, counters, stop_over_limit)


def claim(cache, key: str, seconds: int) -> tuple[bool, float]:
    """Claim `key` for `seconds` if nobody holds it: (claimed, seconds until the claim, ours or
    another's, ends). One round trip; on Redis the holder's remaining time comes with it."""
    redis_client = _redis_client(cache)
    if redis_client is None:
        return bool(cache.add(key, 1, timeout=seconds)), float(seconds)
    claimed, remaining_ms = _call(redis_client, _CLAIM, [cache.make_key(key)], [seconds])
    if claimed or remaining_ms < 0:  # -1: held for ever (set by hand), -2: gone since
        return bool(claimed), float(seconds)
    return False, remaining_ms / 1000


class CacheGuard:
    """Runs cache calls; after a failure, reports the cache as down for CACHE_RETRY_SECONDS and
    logs once per outage window (`message` with the error)."""

    def __init__(self, log: logging.Logger, message: str) -> None:
        self._log = log
        self._message = message
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _clock(self) -> float:
        return time.monotonic()

    @property
    def available(self) -> bool:
        return self._clock() >= self._down_until

    def failed(self, exc: Exception) -> None:
        with self._lock:
            first = self.available
            self._down_until = self._clock() + CACHE_RETRY_SECONDS
        if first:
            self._log.warning(self._message, type(exc).__name__, exc)
        # Every failure is counted (metrics), not only the first of a window; send_robust: a
        # receiver's failure must not break the request the guard lets through.
        signals.backing_service_failed.send_robust(
            sender=type(self), service="cache", error=type(exc).__name__, request=None
        )

    def reset(self) -> None:
        self._down_until = 0.0


# --- Redis: the scripts ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Script:
    text: str
    sha: str

    @classmethod
    def of(cls, text: str) -> _Script:
        return cls(text, hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest())


# KEYS: the reads, then the counters. ARGV: the number of reads, of gates, whether to stop after
# a counter over its limit, then per gate (read index, limit, `unless` read index or 0), then per
# counter (limit, seconds to live). Returns {stopping gate or 0, {counts}, {values}}.
_ROUND_TRIP = _Script.of(
    """
local n_reads, n_gates, stop = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local values = {}
for i = 1, n_reads do values[i] = redis.call('GET', KEYS[i]) end
local at = 4
for g = 1, n_gates do
  local read, limit, unless = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  at = at + 3
  if (tonumber(values[read]) or 0) >= limit and (unless == 0 or not values[unless]) then
    return {g, {}, values}
  end
end
local counts = {}
for c = 1, #KEYS - n_reads do
  local key = KEYS[n_reads + c]
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[at + 1]) end
  counts[c] = count
  if stop and count > tonumber(ARGV[at]) then break end
  at = at + 2
end
return {0, counts, values}
"""
)

# KEYS[1] the mark, ARGV[1] its lifetime in seconds. Returns {1, 0} when claimed, else {0, the
# holder's remaining milliseconds}.
_CLAIM = _Script.of(
    """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return {1, 0} end
return {0, redis.call('PTTL', KEYS[1])}
"""
)


def _redis_client(cache):
    """redis-py's client behind Django's RedisCache, or None for any other backend."""
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(cache, RedisCache):
        return None
    backend = cache._cache
    client = getattr(backend, "_round_trip_client", None)
    if client is None:
        # Django's client for writes: the first server (reads may go to replicas, where a script
        # must not count). Kept: Django builds one per call (~0.3 ms); it shares the pool.
        client = backend._round_trip_client = backend.get_client(None, write=True)
    return client


def _call(client, script: _Script, keys: list[str], args: list) -> Any:
    from redis.exceptions import NoScriptError

    try:
        return client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        # The server forgot it (restart, SCRIPT FLUSH): EVAL runs it and caches it again.
        return client.eval(script.text, len(keys), *keys, *args)


class _KeptConnection(threading.local):
    """Each thread's connection for round trips, taken from the pool once: redis-py's pool takes
    a lock, polls the socket and records metrics on every take and give-back (a quarter of the
    limiter's cost). Busy while a reply is unread (a round trip started meanwhile takes one of
    the pool's); taken again after a fork or for another pool."""

    pool: Any = None
    pid = 0
    connection: Any = None
    busy = False


_kept = _KeptConnection()


def _take(pool) -> Any:
    kept = _kept
    if kept.busy:
        return pool.get_connection()
    pid = os.getpid()
    if kept.pool is not pool or kept.pid != pid:
        kept.connection, kept.pool, kept.pid = pool.get_connection(), pool, pid
    kept.busy = True
    return kept.connection


def _give_back(pool, connection) -> None:
    if connection is _kept.connection:
        _kept.busy = False
    else:
        pool.release(connection)


def _send(
    client, script: _Script, keys: list[str], args: list, *, prepared: Prepared | None = None
) -> Callable[[], Any]:
    """Send EVALSHA on a connection (`_take`), held until the returned function has read the
    reply (a connection given back with a reply unread would hand it to the next command).
    Whatever fails is done again through redis-py's own call, with its retries (a connection the
    server closed meanwhile; the script unknown after a restart). The command is packed once
    per `prepared` round trip (the same bytes every time)."""
    from redis.exceptions import NoScriptError, ResponseError

    pool = client.connection_pool
    connection = _take(pool)
    try:
        packed = prepared.packed if prepared is not None else None
        if packed is None:
            packed = connection.pack_command("EVALSHA", script.sha, len(keys), *keys, *args)
            if prepared is not None:
                prepared.packed = packed
        connection.send_packed_command(packed)
    except Exception:
        connection.disconnect()
        _give_back(pool, connection)
        return lambda: _call(client, script, keys, args)

    def reply() -> Any:
        try:
            answer = connection.read_response()
        except NoScriptError:
            _give_back(pool, connection)  # the reply was read: the connection is clean
            return client.eval(script.text, len(keys), *keys, *args)
        except ResponseError:
            _give_back(pool, connection)  # an error the server answered: not worth running again
            raise
        except Exception:
            # The connection failed (closed by the server, a timeout): redis-py's call retries.
            connection.disconnect()
            _give_back(pool, connection)
            return _call(client, script, keys, args)
        _give_back(pool, connection)
        return answer

    return reply


def _outcome(cache, keys, gates, reply) -> Outcome:
    stopped, counts, raw = reply
    loads = cache._cache._serializer.loads
    values = {key: None if value is None else loads(value) for key, value in zip(keys, raw, strict=False)}
    values.update({key: None for key in keys[len(raw) :]})
    return Outcome(values, gates[stopped - 1] if stopped else None, tuple(counts))


# --- any other cache: the same, through Django's cache API ----------------------------------------


def increment(cache, key: str, ttl: int) -> int:
    """Count one event in `key` through Django's cache API (created, living `ttl` s, if absent)."""
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet in this window
        if cache.add(key, 1, timeout=ttl):
            return 1
        return cache.incr(key)


def _run_through_cache_api(cache, keys, gates, counters, stop_over_limit) -> Outcome:
    found = cache.get_many(keys) if keys else {}
    values = {key: found.get(key) for key in keys}
    for gate in gates:
        if (values[gate.key] or 0) >= gate.limit and not (gate.unless and values[gate.unless]):
            return Outcome(values, gate, ())
    counts = []
    for counter in counters:
        counts.append(increment(cache, counter.key, counter.ttl))
        if stop_over_limit and counts[-1] > counter.limit:
            break
    return Outcome(values, None, tuple(counts))
