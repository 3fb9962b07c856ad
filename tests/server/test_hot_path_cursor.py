"""The hot paths' PostgreSQL cursor (server/hotpath/prepared.py): what it leaves out, pinned as
tests/server/test_hot_path_work.py pins other work, and that what it reads is what Django reads."""

import pytest
from django.db import connection

from tests.server.helpers import basic_auth, form
from tests.server.test_hot_path_work import counting, issue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's cursor and loaders: PostgreSQL"),
]


@pytest.fixture
def app(make_client):
    return make_client("Hot path app")


def sender(client, app, path: str):
    """A function sending one steady-state request to `path` (a bearer check or introspection)."""
    app_, secret = app
    token = issue(client, app)

    def send():
        if path == "/api/me":
            return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        return form(client, path, {"token": token}, HTTP_AUTHORIZATION=basic_auth(app_.client_id, secret))

    assert send().status_code == 200
    return send


@pytest.mark.parametrize("path", ["/api/me", "/oauth/introspect"])
def test_the_hot_paths_load_timestamps_without_djangos_python_loader(client, app, monkeypatch, path):
    # Django's timestamptz loader is psycopg's pure-Python one plus a replace(tzinfo=UTC); on a
    # UTC connection psycopg's default (compiled) loader gives the same values, and the hot
    # paths' cursor takes it (server/hotpath/prepared.py).
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    send = sender(client, app, path)
    loads = counting(monkeypatch, BaseTzLoader, "load")
    response = send()
    assert response.status_code == 200, response.content
    assert loads == []


def test_a_hot_path_row_has_the_timestamps_the_orm_reads(client, app):
    import datetime

    from server.hotpath import sql
    from server.models import Token

    issue(client, app)
    stored = Token.objects.latest("pk")
    stored.revoked_at = datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC)
    stored.save(update_fields=["revoked_at"])
    orm = Token.objects.select_related("client").get(pk=stored.pk)
    hot = sql.token_by_digest(stored.access_token_digest)
    pairs = [(getattr(hot, name), getattr(orm, name)) for name in ("issued_at", "expires_at", "revoked_at")]
    pairs.append((hot.client.created_at, orm.client.created_at))
    for ours, theirs in pairs:
        assert (ours, type(ours)) == (theirs, type(theirs))
        assert ours.tzinfo is theirs.tzinfo is datetime.UTC


def test_a_connection_in_another_time_zone_keeps_djangos_loader():
    # psycopg's default loader gives the instant in the connection's TimeZone: the same values
    # as Django's only in UTC. Elsewhere the hot paths read what Django reads.
    from server.hotpath import prepared

    query = "SELECT TIMESTAMPTZ '2026-12-07 12:00:00.25+00'"
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Europe/Paris'")
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            (django_value,) = cursor.fetchone()
        with prepared.cursor() as cursor:
            assert prepared._utc_loader(connection, cursor.cursor) is None
            cursor.execute(query)
            (value,) = cursor.fetchone()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert (value, value.tzinfo) == (django_value, django_value.tzinfo)
    oid, text, default, _django = prepared._timestamptz()
    with prepared.cursor() as cursor:  # back in UTC: the default loader again
        assert cursor.cursor.adapters.get_loader(oid, text) is default


@pytest.mark.parametrize("path", ["/api/me", "/oauth/introspect"])
def test_a_hot_path_statement_makes_one_psycopg_cursor(client, app, monkeypatch, path):
    # Django's cursor() made a default psycopg cursor that the prepared one then replaced; our
    # backend wraps the prepared cursor itself (DatabaseWrapper.cursor_around).
    from psycopg._cursor_base import BaseCursor

    send = sender(client, app, path)
    made = counting(monkeypatch, BaseCursor, "__init__")
    response = send()
    assert response.status_code == 200, response.content
    assert [type(args[0]).__name__ for args in made] == ["PreparedCursor"]


def test_without_prepared_statements_the_hot_path_runs_on_djangos_cursor(client, app, settings, monkeypatch):
    # OAUTH2_PREPARED_STATEMENTS off (a transaction-mode pooler): Django's own cursor, nothing
    # prepared, the same answer.
    from psycopg._cursor_base import BaseCursor

    settings.OAUTH2_PREPARED_STATEMENTS = False
    app_, secret = app
    token = issue(client, app)
    made = counting(monkeypatch, BaseCursor, "__init__")
    response = form(
        client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=basic_auth(app_.client_id, secret)
    )
    assert response.status_code == 200 and response.json()["active"] is True
    assert made and "PreparedCursor" not in [type(args[0]).__name__ for args in made]


def test_a_loader_not_djangos_is_left_alone():
    # Only Django's own UTC loader is swapped: another one (a project's), or none, stays.
    from psycopg.types.datetime import TimestamptzLoader

    from server.hotpath import prepared

    oid, text, _default, _django = prepared._timestamptz()
    with connection.cursor() as cursor:
        adapters = cursor.cursor.adapters
        adapters.register_loader(oid, TimestamptzLoader)
        assert prepared._utc_loader(connection, cursor.cursor) is None
        adapters._loaders[text] = {k: v for k, v in adapters._loaders[text].items() if k != oid}
        assert adapters.get_loader(oid, text) is None
        assert prepared._utc_loader(connection, cursor.cursor) is None
