"""Where a device's polls are paced (RFC 8628 §3.5): in the shared cache, one round trip (a Lua
script on Redis), so that a waiting device's poll is one SELECT; in the database when the cache
is down, so `slow_down` never stops working."""

import pytest
import redis
from django.core.cache import caches
from django.test import Client as HttpClient
from django.utils import timezone

from server import poll_pacing
from server.models import DeviceAuthorization
from server.services import device_codes
from tests.server.device_helpers import DEVICE_GRANTS, poll, start
from tests.server.helpers import redis_cache_settings
from tests.server.test_redis_round_trips import RoundTrips, commands_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def tv(make_client):
    return make_client("Paced TV", redirect_uris=[], grant_types=DEVICE_GRANTS)


@pytest.fixture
def cache_down(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("no cache")

    monkeypatch.setattr(poll_pacing, "pace", broken)
    yield
    device_codes.pacing_guard.reset()


def _errors(http, tv, code, shifts, time_machine):
    seen = []
    for shift in shifts:
        time_machine.shift(shift)
        seen.append(poll(http, tv, code).json()["error"])
    return seen


def test_with_the_cache_down_polls_are_paced_in_the_database(tv, cache_down, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    http = HttpClient()
    code = start(http, tv).json()["device_code"]
    assert _errors(http, tv, code, [0, 0, 9, 15], time_machine) == [
        "authorization_pending",
        "slow_down",
        "slow_down",
        "authorization_pending",
    ]
    # The row holds the grown interval and the next poll's time, as before the cache pacing.
    row = DeviceAuthorization.objects.get()
    assert row.interval == 15 and row.next_poll_at is not None


def test_without_the_cache_down_the_row_is_not_written(tv, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    http = HttpClient()
    code = start(http, tv).json()["device_code"]
    assert _errors(http, tv, code, [0, 0], time_machine) == ["authorization_pending", "slow_down"]
    row = DeviceAuthorization.objects.get()
    assert row.interval == 5 and row.next_poll_at is None


@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_pace_grows_the_interval_by_the_step_on_each_early_poll(backend, request, settings):
    if backend == "redis":
        settings.CACHES = {"default": redis_cache_settings(request.getfixturevalue("redis_url"), "pace")}
    cache = caches["default"]
    now = 1_000_000.0

    def pace(at):
        return poll_pacing.pace(cache, "device-poll:test", now=now + at, interval=5, step=5, ttl=60)

    assert pace(0) == (False, 5)
    assert pace(4.9) == (True, 10)  # before 5 s: slow down, 10 s from now on
    assert pace(14) == (True, 15)  # 9.1 s after the last poll, under 10
    assert pace(29) == (False, 15)  # 15 s after: on time, the interval stays
    assert pace(43) == (True, 20)


@pytest.mark.django_db(transaction=True)
def test_on_redis_a_waiting_poll_is_the_limiters_round_trip_and_one_script(
    tv, settings, redis_url, monkeypatch, time_machine
):
    from redis.connection import AbstractConnection

    settings.CACHES = {"default": redis_cache_settings(redis_url, "device-polls")}
    time_machine.move_to(timezone.now(), tick=False)
    http = HttpClient()
    code = start(http, tv).json()["device_code"]
    assert poll(http, tv, code).json()["error"] == "authorization_pending"
    recorder = RoundTrips()
    original = AbstractConnection.send_packed_command

    def send_packed_command(connection, command, check_health=True):
        if recorder.seen is not None:
            recorder.seen.append(commands_in(command))
        return original(connection, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", send_packed_command)
    time_machine.shift(5)
    response, seen = recorder(lambda: poll(http, tv, code))
    assert response.json()["error"] == "authorization_pending"
    # The rate limiter's script, then the pacing script: no GET/SET pair, no SQL write.
    assert seen == [["EVALSHA"], ["EVALSHA"]]
    response, seen = recorder(lambda: poll(http, tv, code))
    assert response.json()["error"] == "slow_down"
    # The state is in Redis, where every worker reads it: not in this process.
    row = DeviceAuthorization.objects.get()
    key = caches["default"].make_and_validate_key(f"device-poll:{row.pk}")
    held = redis.Redis.from_url(redis_url).hgetall(key)
    assert int(held[b"interval"]) == 10
    assert 0 < redis.Redis.from_url(redis_url).ttl(key) <= 600 + device_codes.PACE_KEY_MARGIN


@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_a_poll_exactly_one_interval_later_is_on_time_whatever_the_fraction(backend, request, settings):
    # Lua printed the next poll's time with 14 digits: an epoch time's fraction rounded up made
    # a poll exactly on time `slow_down` (seen on one run in three).
    if backend == "redis":
        settings.CACHES = {"default": redis_cache_settings(request.getfixturevalue("redis_url"), "pace")}
    cache = caches["default"]
    for index, first in enumerate([1765051234.123456, 1765051234.99995, 1765051234.00005, 1765051234.5]):
        key = f"device-poll:fraction-{index}"
        assert poll_pacing.pace(cache, key, now=first, interval=5, step=5, ttl=60) == (False, 5)
        assert poll_pacing.pace(cache, key, now=first + 5, interval=5, step=5, ttl=60) == (False, 5)
