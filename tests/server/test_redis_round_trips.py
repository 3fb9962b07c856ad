"""The Redis round trips each protocol endpoint makes, pinned (docs/architecture.md, "Hot paths").

As `test_query_counts.py` pins SQL statements, this pins what the process sends to Redis: every
write to a Redis connection (redis-py's `send_packed_command`) is one round trip, and the
commands in it are read back from the bytes sent. The cache is a real Redis, configured as
production configures it, at TEST_REDIS_URL (tests/conftest.py: `redis_url`; CI starts one).

Every request is sent once first: a window's first request claims the marks that later ones only
read (the address a client authenticated from, the audit log's once-per-interval marks), and
the connection and the limiter's script are set up once per process, not per request.
"""

import pytest
from django.core.cache import caches
from redis.connection import AbstractConnection

from oauth_console.audit.models import AuditEvent
from server import cache_marks, cache_round_trip
from tests.server.helpers import basic_auth, exchange_code, form, get_code, redis_cache_settings

pytestmark = pytest.mark.django_db(transaction=True)  # audit events are written on commit


def commands_in(packed) -> list[str]:
    """The command names in a packed RESP write (one or many arrays of bulk strings)."""
    parts = [packed] if isinstance(packed, bytes | bytearray | memoryview | str) else list(packed)
    data = b"".join(p.encode() if isinstance(p, str) else bytes(p) for p in parts)
    names, at = [], 0
    while at < len(data):
        assert data[at : at + 1] == b"*", data[at : at + 20]
        end = data.index(b"\r\n", at)
        count, at = int(data[at + 1 : end]), end + 2
        for index in range(count):
            assert data[at : at + 1] == b"$", data[at : at + 20]
            end = data.index(b"\r\n", at)
            length, at = int(data[at + 1 : end]), end + 2
            if index == 0:
                names.append(data[at : at + length].decode().upper())
            at += length + 2
    return names


class RoundTrips:
    """Records each write to a Redis connection: one round trip, as the list of its commands."""

    def __init__(self):
        self.seen: list[list[str]] | None = None

    def __call__(self, send):
        self.seen = []
        response = send()
        seen, self.seen = self.seen, None
        return response, seen


@pytest.fixture
def redis_cache(settings, redis_url):
    settings.CACHES = {"default": redis_cache_settings(redis_url, "round-trips")}
    # Once per process, not per request: the connection (its SELECT), and the scripts (EVALSHA
    # falls back to EVAL once if this Redis does not know them yet).
    cache = caches["default"]
    cache_round_trip.run(cache, reads=["warm-up"], counters=[cache_round_trip.Counter("warm-up-count", 1, 1)])
    cache_round_trip.claim(cache, "warm-up-claim", 1)


@pytest.fixture
def round_trips(redis_cache, monkeypatch):
    recorder = RoundTrips()
    original = AbstractConnection.send_packed_command

    def send_packed_command(connection, command, check_health=True):
        if recorder.seen is not None:
            recorder.seen.append(commands_in(command))
        return original(connection, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", send_packed_command)
    return recorder


@pytest.fixture
def app(make_client):
    return make_client("Round-trip app")


def token_request(http, app_and_secret, ip="10.1.0.1"):
    app, secret = app_and_secret
    data = {"grant_type": "client_credentials", "scope": "profile"}
    auth = basic_auth(app.client_id, secret)
    return form(http, "/oauth/token", data, HTTP_AUTHORIZATION=auth, REMOTE_ADDR=ip)


def issue(http, app_and_secret) -> str:
    response = token_request(http, app_and_secret)
    assert response.status_code == 200, response.content[:300]
    return response.json()["access_token"]


def steady(round_trips, send, *, status=200):
    """The round trips of `send()`'s second run (its first claims the window's marks), as another
    worker would make it: what this process remembers of the first run is forgotten."""
    assert send().status_code == status
    cache_marks.forget_process_marks()
    response, seen = round_trips(send)
    assert response.status_code == status, response.content[:300]
    return seen


ONE_SCRIPT = [["EVALSHA"]]


def test_client_credentials_token_is_one_round_trip(client, app, round_trips):
    # Lockout counters, trusted address, and the address and client counters: one script.
    assert steady(round_trips, lambda: token_request(client, app)) == ONE_SCRIPT


def test_introspection_is_one_round_trip(client, app, round_trips):
    token = issue(client, app)
    auth = basic_auth(app[0].client_id, app[1])
    send = lambda: form(client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth)  # noqa: E731
    # The same script also reads the audit log's "client authenticated here" mark: found, so the
    # second call is not recorded again, and costs nothing more.
    assert steady(round_trips, send) == ONE_SCRIPT
    assert AuditEvent.objects.filter(event_type="client_authenticated").count() == 1


def test_revocation_is_one_round_trip(client, app, round_trips):
    tokens = iter([issue(client, app) for _ in range(2)])
    auth = basic_auth(app[0].client_id, app[1])
    send = lambda: form(client, "/oauth/revoke", {"token": next(tokens)}, HTTP_AUTHORIZATION=auth)  # noqa: E731
    assert steady(round_trips, send) == ONE_SCRIPT


def test_authorization_code_exchange_is_one_round_trip(client, app, round_trips, end_user):
    # A used code stays in its row until it expires (replay detection reads the row), so the
    # code grant asks the cache nothing of its own: server.oauth2's cache of redeemed codes is
    # only for integrators' models that delete codes.
    client.force_login(end_user)
    codes = iter([get_code(client, app[0].client_id) for _ in range(2)])

    def send():
        code, verifier = next(codes)
        return exchange_code(client, app[0].client_id, app[1], code, verifier)

    assert steady(round_trips, send) == ONE_SCRIPT


def test_bearer_check_makes_no_round_trip_once_its_use_is_marked(client, app, round_trips):
    token = issue(client, app)
    send = lambda: client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")  # noqa: E731
    # The first use claims the token's "used at a resource" mark for the interval (a script: SET
    # NX, or the holder's time left)...
    response, first = round_trips(send)
    assert response.status_code == 200
    assert first == ONE_SCRIPT
    # ...and this worker remembers it: later uses in the interval make no Redis command at all.
    for _ in range(3):
        response, seen = round_trips(send)
        assert response.status_code == 200
        assert seen == []


def test_another_worker_asks_about_a_marked_token_once_then_remembers_it(client, app, round_trips):
    token = issue(client, app)
    send = lambda: client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")  # noqa: E731
    assert send().status_code == 200
    cache_marks.forget_process_marks()  # another worker: it has not seen this token yet
    # It learns the mark is held (and for how long) in one script, and records nothing...
    response, first = round_trips(send)
    assert response.status_code == 200 and first == ONE_SCRIPT
    assert AuditEvent.objects.filter(event_type="token_authenticated").count() == 1
    # ...then remembers it like the worker that claimed it.
    response, seen = round_trips(send)
    assert response.status_code == 200 and seen == []


def test_a_failed_client_authentication_is_two_round_trips(client, app, round_trips):
    wrong = (app[0], "ocs_wrong")
    # The request's counters, then the two failure counters together.
    assert steady(round_trips, lambda: token_request(client, wrong), status=401) == [["EVALSHA"], ["EVALSHA"]]


def test_a_locked_client_is_refused_in_one_round_trip(client, app, round_trips, settings):
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "auth_failures_client_ip": "1/600"}
    assert token_request(client, (app[0], "ocs_wrong")).status_code == 401
    assert steady(round_trips, lambda: token_request(client, app), status=429) == ONE_SCRIPT


def test_a_failed_sign_in_is_one_round_trip(client, end_user, round_trips):
    # Its address's and account's counters, and whether the account signed in from here before.
    send = lambda: client.post("/accounts/login/", {"username": "alice", "password": "wrong"})  # noqa: E731
    assert steady(round_trips, send) == ONE_SCRIPT


def test_the_redis_client_packs_and_parses_in_c(redis_cache):
    # requirements.txt installs hiredis, which redis-py then uses for every command: packing the
    # rate limiter's script call and parsing its reply in Python cost 4-6% of a protocol request.
    from redis.connection import HiredisRespSerializer

    client = caches["default"]._cache.get_client(write=True)
    connection = client.connection_pool.make_connection()
    assert isinstance(connection._command_packer, HiredisRespSerializer)
    assert type(connection._parser).__name__ == "_HiredisParser"
