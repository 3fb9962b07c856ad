"""A token and the rows that record it in one statement (`server.hotpath.riders`, PostgreSQL):
both or neither, whatever the recorders do; and the ids taken ahead (`server.hotpath.ids`)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oauth_console.audit.models import AuditEvent
from server import events
from server.hotpath import ids
from server.models import Client, Token
from tests.server.helpers import basic_auth, form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorder_of():
    """Register a `server.events` recorder for the test only."""
    added = []

    def add(name, recorder):
        events.add_recorder(name, recorder)
        added.append((name, recorder))

    yield add
    for name, recorder in added:
        events.remove_recorder(name, recorder)


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement: PostgreSQL")


def issue(client, app):
    app_, secret = app
    return form(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic_auth(app_.client_id, secret),
    )


def issued_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type="token_issued"))


@postgres_only
def test_the_token_and_its_event_are_one_statement_in_autocommit(client, make_client):
    app = make_client("Rider")
    issue(client, app)  # warm-up: ids taken ahead
    with CaptureQueriesContext(connection) as queries:
        response = issue(client, app)
    assert response.status_code == 200
    [statement] = [q["sql"] for q in queries.captured_queries if "server_token" in q["sql"]]
    assert statement.startswith("WITH fact AS (WITH held AS")
    assert 'INSERT INTO "audit_auditevent"' in statement
    assert not [q for q in queries.captured_queries if q["sql"] in ("BEGIN", "COMMIT")]
    token = Token.objects.order_by("-pk").first()
    [event] = [e for e in issued_events() if e.token_id == token.pk]
    assert event.detail["grant_type"] == "client_credentials"
    assert token.issued_at is not None


@pytest.mark.parametrize("touch_database_first", [False, True])
def test_a_recorder_that_fails_leaves_neither_token_nor_event(
    client, make_client, recorder_of, touch_database_first
):
    app = make_client("Refused")

    def refuse(sender, record=None, **kwargs):
        if touch_database_first:
            # A read makes the token's statement run first, inside a transaction of its own.
            assert Token.objects.filter(pk=record.pk).exists()
        raise RuntimeError("cannot record")

    recorder_of("token_issued", refuse)
    with pytest.raises(RuntimeError, match="cannot record"):
        issue(client, app)
    assert not Token.objects.exists()
    assert issued_events() == []


def test_a_recorder_that_writes_a_row_of_its_own_commits_it_with_the_token(client, make_client, recorder_of):
    app, _ = make_client("Writer")

    def write(sender, record=None, **kwargs):
        Client.objects.filter(pk=app.pk).update(description=f"last token {record.pk}")

    recorder_of("token_issued", write)
    assert issue(client, (app, _)).status_code == 200
    token = Token.objects.get()
    app.refresh_from_db()
    assert app.description == f"last token {token.pk}"
    assert [e.token_id for e in issued_events()] == [token.pk]


@postgres_only
def test_a_client_deleted_while_its_token_is_issued_gets_neither(client, make_client, recorder_of):
    from django.db import connections

    from server.models import ClientSecret

    app, secret = make_client("Vanishing")
    other = connections.create_connection("default")

    def delete_client_elsewhere(sender, **kwargs):
        # Another connection deletes the client after its lookup, before the token's statement:
        # the statement's client lock finds no row, so it writes no token and no event.
        with other.cursor() as cursor:
            cursor.execute(f'DELETE FROM "{ClientSecret._meta.db_table}" WHERE client_id = %s', [app.pk])
            cursor.execute(f'DELETE FROM "{Client._meta.db_table}" WHERE id = %s', [app.pk])

    recorder_of("token_issued", delete_client_elsewhere)
    try:
        response = issue(client, (app, secret))
    finally:
        other.close()
    assert response.json()["error"] == "invalid_client"  # as before the one statement
    assert not Token.objects.exists()
    assert issued_events() == []


@postgres_only
def test_ids_taken_ahead_are_unique_increasing_and_expire():
    table = AuditEvent._meta.db_table
    ids.forget()
    first = ids.next_ids(table, 3)
    second = ids.next_ids(table, 2)
    assert first + second == sorted(first + second)
    assert len(set(first + second)) == 5
    with CaptureQueriesContext(connection) as queries:
        ids.next_ids(table, 1)
    assert len(queries) == 0  # from the block
    with CaptureQueriesContext(connection) as queries:
        [exact] = ids.next_ids(table, 1, max_age=0)
    assert len(queries) == 1 and exact > max(second)
    ids.forget()


def test_a_revocation_that_lost_a_race_is_recorded_as_changing_nothing(make_client):
    from server import services
    from server.actors import Actor
    from server.hotpath import sql

    app, _ = make_client("Raced")
    token = services.store_token(
        {"access_token": "oat_raced", "expires_in": 3600, "scope": "read"},
        client=app,
        user=None,
        grant_type="client_credentials",
    )
    looked_up = sql.token_by_digest(token.access_token_digest)
    # Another revocation wins between the lookup and this one's statement.
    services.revoke_single_token(Token.objects.get(pk=token.pk), actor=Actor.system("first"), reason="first")
    changed = services.revoke_single_token(looked_up, actor=Actor.client(app.client_id), reason="second")
    assert changed is False
    token.refresh_from_db()
    assert token.revoked_reason == "first"
    revoked = list(AuditEvent.objects.filter(event_type="token_revoked").order_by("pk"))
    assert [e.detail["count"] for e in revoked] == [1, 0]
    assert revoked[1].detail.get("reason") == "first"  # the earlier revocation's why


@postgres_only
def test_a_revocation_whose_event_cannot_be_recorded_leaves_the_token_active(make_client, recorder_of):
    from server import services
    from server.actors import Actor

    app, _ = make_client("Kept")
    token = services.store_token(
        {"access_token": "oat_kept", "expires_in": 3600, "scope": "read"},
        client=app,
        user=None,
        grant_type="client_credentials",
    )

    def refuse(sender, **kwargs):
        raise RuntimeError("cannot record")

    recorder_of("token_revoked", refuse)
    with pytest.raises(RuntimeError):
        services.revoke_single_token(token, actor=Actor.system("tests"), reason="no")
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEvent.objects.filter(event_type="token_revoked").exists()
