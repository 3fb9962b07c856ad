"""A client_credentials request with a client this worker read before (PostgreSQL).

The token's statement confirms the worker's copy of the client (`server.hotpath.known_clients`,
`server.oauth2.provisional`): what is pinned here is that the copy never decides anything the
stored client would decide otherwise. After every change an operator can make between two
requests, the next request is answered exactly as a worker that had never seen the client would
answer it: the same status, the same tokens written, the same signals, audit events and metrics,
each once.
"""

import pytest
from django.db import connection
from django.dispatch import receiver as connect
from django.test.utils import CaptureQueriesContext

from oauth_console.audit.models import AuditEvent, EventType
from oauth_console.metrics import registry
from server import services
from server.actors import Actor
from server.hotpath import known_clients
from server.models import Client, ClientSecret, Token
from server.oauth2 import signals
from tests.server.helpers import basic_auth, form, key_client_sender

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="provisional clients are PostgreSQL's"),
]

OPERATOR = Actor.system("tests")


@pytest.fixture
def app(make_client):
    return make_client("Provisional app")


@pytest.fixture
def heard():
    """Every client_authenticated, client_authentication_failed and token_request_refused sent."""
    sent: list[tuple[str, str]] = []

    def authenticated(sender, client=None, **kwargs):
        sent.append(("authenticated", client.client_id))

    def failed(sender, client_id=None, **kwargs):
        sent.append(("failed", client_id))

    def refused(sender, client=None, error=None, **kwargs):
        sent.append(("refused", error))

    pairs = [
        (signals.client_authenticated, authenticated),
        (signals.client_authentication_failed, failed),
        (signals.token_request_refused, refused),
    ]
    for signal, function in pairs:
        connect(signal, weak=False, dispatch_uid=f"test-provisional-{function.__name__}")(function)
    yield sent
    for signal, function in pairs:
        signal.disconnect(dispatch_uid=f"test-provisional-{function.__name__}")


def token_request(http, client, secret, scope="read"):
    return form(
        http,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )


def warm(http, app) -> None:
    """One token, so that this worker knows the client; then the test's own counts start."""
    assert token_request(http, *app).status_code == 200
    assert known_clients.provisional_client(app[0].client_id) is not None


def events(client, kind) -> int:
    return AuditEvent.objects.filter(client_id=client.client_id, event_type=kind).count()


def issued_count(client) -> float:
    label = registry.client_label(client.client_id)
    return registry.TOKENS_ISSUED.labels("client_credentials", label)._value.get()


def test_the_copy_serves_the_next_request_in_one_statement(client, app, heard):
    warm(client, app)
    heard.clear()
    tokens, issued = Token.objects.count(), events(app[0], EventType.TOKEN_ISSUED)
    with CaptureQueriesContext(connection) as queries:
        response = token_request(client, *app)
    assert response.status_code == 200
    assert len(queries.captured_queries) == 1
    assert Token.objects.count() == tokens + 1
    assert events(app[0], EventType.TOKEN_ISSUED) == issued + 1
    assert heard == [("authenticated", app[0].client_id)]  # once, after the statement confirmed it


def test_the_audit_says_how_a_provisional_client_authenticated(client, app):
    warm(client, app)
    before = events(app[0], EventType.CLIENT_AUTHENTICATED)
    assert token_request(client, *app).status_code == 200
    event = AuditEvent.objects.filter(event_type=EventType.TOKEN_ISSUED).latest("id")
    assert event.detail["client_auth_method"] == "client_secret_basic"
    # The token_issued event says it; no client_authenticated event besides.
    assert events(app[0], EventType.CLIENT_AUTHENTICATED) == before


def test_a_changed_row_is_read_again_and_answered_once(client, app, heard):
    warm(client, app)
    Client.objects.filter(pk=app[0].pk).update(name="Renamed")  # a new row version
    heard.clear()
    tokens, issued, counted = (
        Token.objects.count(),
        events(app[0], EventType.TOKEN_ISSUED),
        issued_count(app[0]),
    )
    response = token_request(client, *app)
    assert response.status_code == 200
    assert Token.objects.count() == tokens + 1
    assert events(app[0], EventType.TOKEN_ISSUED) == issued + 1
    assert issued_count(app[0]) == counted + 1
    assert heard == [("authenticated", app[0].client_id)]
    # The worker now knows the new row: the next request is one statement again.
    with CaptureQueriesContext(connection) as queries:
        assert token_request(client, *app).status_code == 200
    assert len(queries.captured_queries) == 1


def test_a_disabled_client_gets_nothing_and_nobody_hears_it_authenticated(client, app, heard):
    warm(client, app)
    services.set_client_status(Client.objects.get(pk=app[0].pk), Client.Status.DISABLED, actor=OPERATOR)
    heard.clear()
    tokens, counted = Token.objects.count(), issued_count(app[0])
    response = token_request(client, *app)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert Token.objects.count() == tokens
    assert issued_count(app[0]) == counted
    assert heard == [("failed", app[0].client_id)]


def test_an_expired_secret_is_refused_at_once(client, app, heard):
    warm(client, app)
    (secret,) = ClientSecret.objects.filter(client=app[0])
    services.expire_client_secret(secret, actor=OPERATOR)
    heard.clear()
    tokens = Token.objects.count()
    response = token_request(client, *app)
    assert response.status_code == 401
    assert Token.objects.count() == tokens
    assert heard == [("failed", app[0].client_id)]


def test_a_deleted_secret_is_refused_at_once(client, app, heard):
    warm(client, app)
    # A rotation leaves the client's row as it was: the statement checks the secret itself.
    ClientSecret.objects.filter(client=app[0]).delete()
    heard.clear()
    response = token_request(client, *app)
    assert response.status_code == 401
    assert heard == [("failed", app[0].client_id)]


def test_a_new_secret_works_at_once(client, app, heard):
    warm(client, app)
    rotated = services.rotate_client_secret(Client.objects.get(pk=app[0].pk), actor=OPERATOR)
    heard.clear()
    response = token_request(client, app[0], rotated.secret)
    assert response.status_code == 200, response.content
    assert heard == [("authenticated", app[0].client_id)]
    # The old one too, during its grace period.
    assert token_request(client, *app).status_code == 200


def test_a_scope_granted_since_is_not_refused_by_the_copy(client, app, heard):
    warm(client, app)
    services.update_client(
        Client.objects.get(pk=app[0].pk), actor=OPERATOR, scope=["profile", "email", "read", "write"]
    )
    heard.clear()
    response = token_request(client, *app, scope="write")
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "write"
    assert heard == [("authenticated", app[0].client_id)]


def test_a_refusal_is_the_databases_and_is_told_once(client, app, heard):
    warm(client, app)
    heard.clear()
    before = events(app[0], EventType.TOKEN_REFUSED), events(app[0], EventType.CLIENT_AUTHENTICATED)
    response = token_request(client, *app, scope="admin-of-everything")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert heard == [("authenticated", app[0].client_id), ("refused", "invalid_scope")]
    # One refusal event, which says the client authenticated; no client_authenticated besides.
    assert (events(app[0], EventType.TOKEN_REFUSED), events(app[0], EventType.CLIENT_AUTHENTICATED)) == (
        before[0] + 1,
        before[1],
    )


def test_a_wrong_secret_is_refused_by_the_database_once(client, app, heard):
    warm(client, app)
    heard.clear()
    response = token_request(client, app[0], "not-the-secret")
    assert response.status_code == 401
    assert heard == [("failed", app[0].client_id)]


def test_a_frozen_row_is_confirmed_after_one_read(client, app):
    warm(client, app)
    # VACUUM FREEZE may change the version a row reports (PostgreSQL reads a frozen xmin as 2).
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (FREEZE) {Client._meta.db_table}")
    assert token_request(client, *app).status_code == 200
    assert token_request(client, *app).status_code == 200


def test_other_grants_never_use_a_copy(client, app):
    # A code or refresh token would be spent before the token's statement could find the client
    # changed: only client_credentials uses the worker's copy.
    from server.oauth2 import provisional

    seen = []

    def spy(sender, client=None, **kwargs):
        seen.append(provisional.is_provisional(client))

    connect(signals.client_authenticated, weak=False, dispatch_uid="test-provisional-spy")(spy)
    try:
        warm(client, app)
        response = form(
            client,
            "/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": "unknown"},
            HTTP_AUTHORIZATION=basic_auth(app[0].client_id, app[1]),
        )
    finally:
        signals.client_authenticated.disconnect(dispatch_uid="test-provisional-spy")
    assert response.status_code == 400
    assert seen[-1] is False


def test_a_client_assertion_is_answered_with_the_stored_client(client, make_client):
    # A copy would have the request answered twice when the row changed, and the assertion's jti,
    # spent by the first answer, would be refused as a replay by the second.
    app, send = key_client_sender(client, make_client)

    assert send().status_code == 200
    Client.objects.filter(pk=app.pk).update(name="Renamed")
    response = send()
    assert response.status_code == 200, response.content
