"""The rate limiter's round trip overlapping the database lookup (`server.ratelimit.overlap`).

A client-authenticating request whose client and address were calm in this worker sends its
script, lets the view read the client (and token) from the database, and waits for the answer
before any credential is checked. On a real Redis (TEST_REDIS_URL), as production runs it: the
order of what is sent and read is recorded, and what a refused request did is checked.
"""

import pytest
from django.db import connection
from redis.connection import AbstractConnection

from server.models import Token
from server.oauth2 import signals as oauth2_signals
from server.ratelimit import overlap
from tests.server.helpers import basic_auth, form
from tests.server.test_redis_round_trips import app, issue, redis_cache  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def order(redis_cache, monkeypatch):  # noqa: F811
    """What each request sends to Redis, reads from it, and runs in the database, in order."""
    events: list[str] = []
    send, read = AbstractConnection.send_packed_command, AbstractConnection.read_response

    def sent(self, command, check_health=True):
        events.append("redis: send")
        return send(self, command, check_health)

    def answered(self, *args, **kwargs):
        answer = read(self, *args, **kwargs)
        events.append("redis: answer")
        return answer

    def statement(execute, sql, params, many, context):
        # The protocol's own statements; a refusal's listeners (its `request_throttled` audit
        # event, the webhooks' outbox) read and write as they did before.
        if 'FROM "server_client"' in sql:  # the client lookup (with the token, if any)
            events.append("database: client")
        elif '"server_token"' in sql:
            events.append("database: token " + sql.split()[0].upper())
        return execute(sql, params, many, context)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", sent)
    monkeypatch.setattr(AbstractConnection, "read_response", answered)
    with connection.execute_wrapper(statement):
        yield events


@pytest.fixture
def authentications():
    seen = []

    def heard(sender, **kwargs):
        seen.append(kwargs.get("method"))

    oauth2_signals.client_authenticated.connect(heard, weak=False)
    oauth2_signals.client_authentication_failed.connect(heard, weak=False)
    yield seen
    oauth2_signals.client_authenticated.disconnect(heard)
    oauth2_signals.client_authentication_failed.disconnect(heard)


def limits(settings, **rates):
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, **rates}


def introspect(http, app_and_secret, token, secret=None):
    auth = basic_auth(app_and_secret[0].client_id, secret or app_and_secret[1])
    return form(http, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth)


WAITS = ["redis: send", "redis: answer", "database: client"]
OVERLAPS = ["redis: send", "database: client", "redis: answer"]


def run(order, send):
    order.clear()
    response = send()
    return response, list(order)


def test_a_calm_client_s_next_request_overlaps_its_round_trip_and_lookup(client, app, order, settings):  # noqa: F811
    limits(settings, introspect_client="8/600", introspect_ip="1000/600")
    token = issue(client, app)
    introspect(client, app, token)  # the window's marks claimed (trusted address, audit)
    overlap.forget()
    # The first request of a client and address waits for the limiter, then reads the database...
    response, first = run(order, lambda: introspect(client, app, token))
    assert response.status_code == 200 and response.json()["active"] is True
    assert first == WAITS
    # ...it found the counters far from their limits: the next one sends, reads, then waits.
    response, second = run(order, lambda: introspect(client, app, token))
    assert response.status_code == 200 and response.json()["active"] is True
    assert second == OVERLAPS  # still one round trip and one statement


def test_past_half_a_limit_requests_wait_and_a_refused_one_reaches_no_database(client, app, order, settings):  # noqa: F811
    token = issue(client, app)
    introspect(client, app, token)  # the window's marks claimed (trusted address, audit)
    # The address's limit: the client's spares an address it authenticated from (docs/security.md).
    limits(settings, introspect_ip="4/600", introspect_client="1000/600")  # a new window's keys
    overlap.forget()
    seen = [run(order, lambda: introspect(client, app, token)) for _ in range(5)]
    assert [response.status_code for response, _ in seen] == [200, 200, 200, 200, 429]
    # 1: first of its pair; 2: calm (1 of 4); 3: calm (2 of 4), but counted 3: no longer calm.
    assert [events for _, events in seen] == [
        WAITS,
        OVERLAPS,
        OVERLAPS,
        WAITS,
        ["redis: send", "redis: answer"],
    ]


def test_a_refused_overlapping_request_is_429_and_checks_no_credential(
    client,
    app,  # noqa: F811
    order,
    settings,
    monkeypatch,
    authentications,
):
    token = issue(client, app)
    limits(settings, introspect_ip="1/600", introspect_client="1000/600")
    # As if this worker had last seen the pair calm, while other workers used up the limit.
    monkeypatch.setattr(overlap, "allowed", lambda *args: True)
    assert introspect(client, app, token).status_code == 200
    authentications.clear()
    # A wrong secret: refused by the limiter, not answered 401: the secret was never compared.
    response, events = run(order, lambda: introspect(client, app, token, secret="ocs_wrong"))
    assert response.status_code == 429, response.content
    assert response.json()["error"] == "slow_down" and int(response["Retry-After"]) > 0
    assert response["Cache-Control"] == "no-store"
    assert events == OVERLAPS  # the lookup read the client (and token), and nothing else ran
    assert authentications == []
    # The right secret: refused the same way, the token not described.
    response = introspect(client, app, token)
    assert response.status_code == 429 and "active" not in response.json()


def test_a_refused_overlapping_revocation_revokes_nothing(client, app, order, settings, monkeypatch):  # noqa: F811
    token = issue(client, app)
    limits(settings, revoke_ip="1/600", revoke_client="1000/600")
    monkeypatch.setattr(overlap, "allowed", lambda *args: True)
    auth = basic_auth(app[0].client_id, app[1])
    assert form(client, "/oauth/revoke", {"token": "oat_unknown"}, HTTP_AUTHORIZATION=auth).status_code == 200
    response, events = run(
        order, lambda: form(client, "/oauth/revoke", {"token": token}, HTTP_AUTHORIZATION=auth)
    )
    assert response.status_code == 429
    assert events == OVERLAPS  # no UPDATE
    assert Token.objects.get().revoked_at is None


def test_a_refused_overlapping_token_request_issues_nothing(client, app, settings, monkeypatch):  # noqa: F811
    issue(client, app)
    limits(settings, token_client="1/600", token_ip="1000/600")
    monkeypatch.setattr(overlap, "allowed", lambda *args: True)
    assert issue(client, app)
    auth = basic_auth(app[0].client_id, app[1])
    data = {"grant_type": "client_credentials", "scope": "profile"}
    assert form(client, "/oauth/token", data, HTTP_AUTHORIZATION=auth).status_code == 429
    assert Token.objects.count() == 2
