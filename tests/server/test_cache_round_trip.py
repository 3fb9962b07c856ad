"""server/cache_round_trip.py: the same semantics on Redis (one Lua script) and on any other cache
(Django's cache API), and keys and values either side can read."""

import time

import pytest
from django.core.cache import caches
from redis.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from server import cache_round_trip, signals
from server.cache_round_trip import Counter, Gate, run
from tests.server.helpers import redis_cache_settings


@pytest.fixture(params=["locmem", "redis"])
def cache(request, settings):
    if request.param == "redis":
        settings.CACHES = {
            "default": redis_cache_settings(request.getfixturevalue("redis_url"), "round-trip")
        }
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return caches["default"]


def test_counters_count_in_order_and_stop_after_the_first_over_its_limit(cache):
    by_address, by_client = Counter("ip", 2, 60, "token_ip"), Counter("client", 5, 60, "token_client")
    counts = [run(cache, counters=[by_address, by_client]).counts for _ in range(3)]
    # The third request is over the address's limit: its client is not counted for it.
    assert counts == [(1, 1), (2, 2), (3,)]
    outcome = run(cache, counters=[by_address, by_client])
    assert outcome.over_limit([by_address, by_client]) is by_address
    # Without stopping (failures are always counted), every counter counts.
    assert run(cache, counters=[by_address, by_client], stop_over_limit=False).counts == (5, 3)
    assert cache.get("ip") == 5 and cache.get("client") == 3


def test_a_gate_at_its_limit_stops_the_counting_unless_its_exemption_is_present(cache):
    cache.set("failures", 3)
    counter = Counter("requests", 10, 60)
    locked = Gate("failures", 3, unless="trusted", name="auth_failures_client")
    outcome = run(cache, reads=["trusted"], gates=[locked], counters=[counter])
    assert outcome.gate is locked
    assert outcome.counts == () and cache.get("requests") is None
    assert outcome.values == {"trusted": None, "failures": 3}
    cache.set("trusted", 1)
    outcome = run(cache, reads=["trusted"], gates=[locked], counters=[counter])
    assert outcome.gate is None and outcome.counts == (1,)
    assert outcome.values == {"trusted": 1, "failures": 3}
    # Below its limit a gate lets the request through; a missing counter is no failure at all.
    assert run(cache, gates=[Gate("failures", 4)], counters=[counter]).counts == (2,)
    assert run(cache, gates=[Gate("absent", 1)]).gate is None


def test_reads_return_what_djangos_cache_api_stored_and_counters_are_its_integers(cache):
    cache.set("mark", 1)
    cache.set("object", {"a": [1, 2]})
    outcome = run(cache, reads=["mark", "object", "absent"])
    assert outcome.values == {"mark": 1, "object": {"a": [1, 2]}, "absent": None}
    # A counter made by the round trip is an integer to Django's cache API, and the other way.
    run(cache, counters=[Counter("hits", 9, 60)])
    assert cache.incr("hits") == 2
    assert cache.add("made-by-django", 1, timeout=60)
    assert run(cache, counters=[Counter("made-by-django", 9, 60)]).counts == (2,)


def test_a_counter_lives_its_ttl_from_its_first_event(cache):
    run(cache, counters=[Counter("window", 9, 61)])
    run(cache, counters=[Counter("window", 9, 61)])
    key = cache.make_and_validate_key("window")
    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):
        left = cache._cache.get_client(None, write=True).ttl(key)
    else:
        left = cache._expire_info[key] - time.time()
    assert 59 <= left <= 61


def test_a_claim_is_held_for_its_seconds_and_tells_others_how_long_is_left(cache):
    assert cache_round_trip.claim(cache, "mark", 300) == (True, 300.0)
    claimed, remaining = cache_round_trip.claim(cache, "mark", 300)
    assert claimed is False
    assert 0 < remaining <= 300


def test_nothing_to_do_is_no_round_trip(cache, monkeypatch):
    monkeypatch.setattr(cache_round_trip, "_redis_client", lambda cache: pytest.fail("asked the cache"))
    assert run(cache) == cache_round_trip.Outcome()


def test_a_redis_that_forgot_the_script_runs_it_with_eval(settings, redis_url, monkeypatch):
    settings.CACHES = {"default": redis_cache_settings(redis_url, "noscript")}
    cache = caches["default"]
    unknown = cache_round_trip._Script(cache_round_trip._ROUND_TRIP.text, "0" * 40)
    monkeypatch.setattr(cache_round_trip, "_ROUND_TRIP", unknown)
    assert run(cache, counters=[Counter("after-noscript", 9, 60)]).counts == (1,)
    assert run(cache, counters=[Counter("after-noscript", 9, 60)]).counts == (2,)


def test_a_script_is_named_by_the_sha1_redis_gives_it():
    """EVALSHA finds a script by the SHA-1 of its text, as SCRIPT LOAD computes it: the
    known answer for `return 1` from Redis's documentation."""
    assert cache_round_trip._Script.of("return 1").sha == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"


def test_a_cache_failure_is_reported_as_a_backing_service_failure_each_time(caplog):
    """The guard logs once per outage window but reports every failure (metrics count them)."""
    sent = []

    def receiver(sender, **kwargs):
        sent.append((sender, kwargs["service"], kwargs["error"], kwargs["request"]))

    guard = cache_round_trip.CacheGuard(cache_round_trip.logger, "cache down (%s: %s)")
    assert guard.available
    signals.backing_service_failed.connect(receiver)
    try:
        guard.failed(ConnectionError("refused"))
        guard.failed(TimeoutError("slow"))
    finally:
        signals.backing_service_failed.disconnect(receiver)
    assert not guard.available
    expected = [
        (cache_round_trip.CacheGuard, "cache", "ConnectionError", None),
        (cache_round_trip.CacheGuard, "cache", "TimeoutError", None),
    ]
    assert sent == expected
    assert [r.getMessage() for r in caplog.records if r.name == "server.cache"] == [
        "cache down (ConnectionError: refused)"
    ]


def test_a_claim_held_elsewhere_on_redis_says_how_long_it_has_left(settings, redis_url):
    """The holder's remaining time comes back from Redis in milliseconds, as seconds."""
    settings.CACHES = {"default": redis_cache_settings(redis_url, "claim-left")}
    cache = caches["default"]
    cache.set("held", 1, timeout=None)
    cache._cache.get_client(None, write=True).pexpire(cache.make_and_validate_key("held"), 1_000_000)
    claimed, remaining = cache_round_trip.claim(cache, "held", 60)
    assert claimed is False
    assert 999.5 < remaining <= 1000.0


def test_the_round_trip_goes_to_the_writable_server_over_one_kept_client(settings, redis_url):
    """With replicas configured (LOCATION lists the primary first), Django reads from a replica;
    a script that counts must run on the primary. The client is built once and kept."""
    primary, replica = redis_url, redis_url.rsplit("/", 1)[0] + "/11"
    config = redis_cache_settings(primary, "primary")
    config["LOCATION"] = [primary, replica]
    settings.CACHES = {"default": config}
    cache = caches["default"]
    assert cache_round_trip._redis_client(cache) is cache_round_trip._redis_client(cache)
    run(cache, counters=[Counter("on-the-primary", 9, 60)])
    key = cache.make_and_validate_key("on-the-primary")
    assert cache._cache.get_client(None, write=True).get(key) is not None
    assert cache._cache._get_connection_pool(write=False) is not cache._cache._get_connection_pool(write=True)


def test_a_round_trip_sent_early_is_answered_later_on_a_connection_of_its_own(settings, redis_url):
    # `start` sends now and reads when asked (the rate limiter overlaps it with the database
    # lookup): a command sent meanwhile takes another connection, and each gets its own reply.
    settings.CACHES = {"default": redis_cache_settings(redis_url, "overlap")}
    cache = caches["default"]
    first = cache_round_trip.start(cache, counters=[Counter("early", 9, 60)])
    assert run(cache, counters=[Counter("between", 9, 60)]).counts == (1,)
    assert first().counts == (1,)
    assert run(cache, counters=[Counter("early", 9, 60)]).counts == (2,)


def test_a_reply_lost_with_its_connection_is_asked_again_and_the_pool_stays_clean(
    settings, redis_url, monkeypatch
):
    settings.CACHES = {"default": redis_cache_settings(redis_url, "lost-reply")}
    cache = caches["default"]
    run(cache, counters=[Counter("lost", 9, 60)])  # a connection in the pool
    original = AbstractConnection.read_response
    failures = iter([RedisConnectionError("Connection closed by server.")])

    def read_response(connection, *args, **kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return original(connection, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "read_response", read_response)
    # The lost reply: run again through redis-py's call (which retries as it would have); the
    # script ran twice, as a redis-py retry after a lost reply would run it.
    assert run(cache, counters=[Counter("lost", 9, 60)]).counts == (3,)
    # The failed connection was dropped, not given back with a reply unread.
    assert run(cache, counters=[Counter("lost", 9, 60)]).counts == (4,)


def test_each_thread_keeps_one_connection_for_its_round_trips(settings, redis_url, monkeypatch):
    """The steady state takes nothing from redis-py's pool (its lock, socket poll and metrics
    on every take): the thread's kept connection, busy only while a reply is unread."""
    settings.CACHES = {"default": redis_cache_settings(redis_url, "kept")}
    cache = caches["default"]
    run(cache, counters=[Counter("kept", 9, 60)])
    pool = cache_round_trip._redis_client(cache).connection_pool
    taken = []
    original = type(pool).get_connection
    monkeypatch.setattr(type(pool), "get_connection", lambda self: taken.append(1) or original(self))
    assert [run(cache, counters=[Counter("kept", 9, 60)]).counts for _ in range(3)] == [(2,), (3,), (4,)]
    assert taken == []
    # A round trip started while another's reply is unread takes one of the pool's.
    first = cache_round_trip.start(cache, counters=[Counter("kept", 9, 60)])
    assert run(cache, counters=[Counter("kept", 9, 60)]).counts == (6,)
    assert first().counts == (5,)
    assert taken == [1]


def test_a_kept_connection_the_server_closed_is_answered_again_and_used_again(settings, redis_url):
    settings.CACHES = {"default": redis_cache_settings(redis_url, "kept-closed")}
    cache = caches["default"]
    run(cache, counters=[Counter("closed", 9, 60)])
    kept = cache_round_trip._kept.connection
    admin = cache._cache.get_client(None, write=True)
    port = kept._sock.getsockname()[1]
    [killed] = [c for c in admin.client_list() if int(c["addr"].rsplit(":", 1)[1]) == port]
    admin.client_kill_filter(_id=killed["id"])
    assert run(cache, counters=[Counter("closed", 9, 60)]).counts == (2,)
    assert run(cache, counters=[Counter("closed", 9, 60)]).counts == (3,)
    assert cache_round_trip._kept.connection is kept and not cache_round_trip._kept.busy


def test_a_forked_worker_makes_its_own_kept_connection(settings, redis_url, monkeypatch):
    settings.CACHES = {"default": redis_cache_settings(redis_url, "kept-fork")}
    cache = caches["default"]
    run(cache, counters=[Counter("fork", 9, 60)])
    parents = cache_round_trip._kept.connection
    monkeypatch.setattr(cache_round_trip.os, "getpid", lambda: -1)
    assert run(cache, counters=[Counter("fork", 9, 60)]).counts == (2,)
    assert cache_round_trip._kept.connection is not parents
