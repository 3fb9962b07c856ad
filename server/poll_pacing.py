"""RFC 8628 §3.5 pacing of a device's polls in the shared cache: one atomic round trip on
Redis (a script), a get and a set elsewhere. On the machinery of `server.cache_round_trip`."""

from __future__ import annotations

from server.cache_round_trip import _call, _redis_client, _Script

# KEYS[1] the device's pacing hash {next: epoch milliseconds the next poll is on time, interval
# in seconds}. ARGV: now (epoch ms), the first interval, the step, the key's lifetime. Returns
# {1 if too soon, interval}. Integers of 13 digits: exact in Lua's doubles and in tostring.
_PACE = _Script.of(
    """
local held = redis.call('HMGET', KEYS[1], 'next', 'interval')
local now, interval = tonumber(ARGV[1]), tonumber(held[2]) or tonumber(ARGV[2])
local early = 0
if held[1] and now < tonumber(held[1]) then
  early = 1
  interval = interval + tonumber(ARGV[3])
end
redis.call('HSET', KEYS[1], 'next', string.format('%d', now + interval * 1000), 'interval', interval)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {early, interval}
"""
)


def pace(cache, key: str, *, now: float, interval: int, step: int, ttl: int) -> tuple[bool, int]:
    """Record one poll at `now` (epoch seconds) under `key`: (too soon, the interval from now on).
    Times are kept as whole milliseconds: Lua prints a float with 14 digits, which would round
    an epoch time with its fraction (up, sometimes) and make a poll exactly on time too soon.

    A poll before the previous one's interval was up is too soon, and the interval then grows by
    `step` for it and every later poll (RFC 8628 §3.5 `slow_down`); `interval` is the first
    interval, used until the key holds one. The key lives `ttl` seconds after each poll. One
    round trip on Redis (a script: read, decide and write atomically, so two workers polled at
    once cannot both be on time); any other cache: a get and a set (atomic enough in one
    process, which is all a local-memory cache serves)."""
    now_ms = int(now * 1000)
    redis_client = _redis_client(cache)
    if redis_client is None:
        held = cache.get(key)
        next_ms, current = held if isinstance(held, tuple | list) and len(held) == 2 else (None, interval)
        early = next_ms is not None and now_ms < next_ms
        current = current + step if early else current
        cache.set(key, (now_ms + current * 1000, current), timeout=ttl)
        return early, current
    early, current = _call(
        redis_client, _PACE, [cache.make_and_validate_key(key)], [now_ms, interval, step, ttl]
    )
    return bool(early), int(current)
