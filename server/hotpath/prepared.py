"""The hot paths' cursor: on PostgreSQL, server-side binding and a statement prepared once per
connection (`OAUTH2_PREPARED_STATEMENTS`), and psycopg's own timestamptz loader where Django's
would give the same values (`_utc_loader`)."""

import datetime
from contextlib import contextmanager
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections

from server.conf import server_settings

NEVER_BY_COUNT = 2**31 - 1


def database():
    """The default database's wrapper. Hot paths look it up once per call and keep it:
    `django.db.connection` is a proxy that finds the thread's wrapper again on every attribute
    read, through asgiref's Local (about 2.5 us a read, a dozen reads a token request)."""
    return connections[DEFAULT_DB_ALIAS]


@contextmanager
def cursor(db=None):
    """Django's cursor (connection set-up, health check, query logging, error wrapping), on
    PostgreSQL with server-side binding and a prepared statement: PostgreSQL plans a three-table
    join in more time than it takes to run it, so each worker connection plans it once.
    OAUTH2_PREPARED_STATEMENTS off: for a transaction-mode pooler that cannot keep them.
    `db`: the `database()` the caller holds already (else looked up here)."""
    if db is None:
        db = database()  # one lookup of the thread's connection, not one per use
    prepared = db.vendor == "postgresql" and server_settings.OAUTH2_PREPARED_STATEMENTS
    # Our backend (oauth_console.db.postgresql) wraps the prepared cursor itself: Django's
    # cursor() would make a default psycopg cursor first, only for it to be replaced.
    around = getattr(db, "cursor_around", None) if prepared else None
    with around(_prepared_cursor) if around is not None else db.cursor() as wrapper:
        if prepared and around is None:
            wrapper.cursor = _prepared_cursor(db.connection)
        if db.vendor == "postgresql":
            loader = _utc_loader(db, wrapper.cursor)
            if loader is not None:
                wrapper.cursor.adapters.register_loader(_timestamptz()[0], loader)
        yield wrapper


def _prepared_cursor(raw):
    """A psycopg cursor of the connection `raw` that prepares every statement it runs."""
    if raw.prepare_threshold is None:
        # Django turns preparing off (None) for poolers' sake; a threshold no query reaches
        # turns it back on for explicit `prepare=True` only: Django's own client-side-binding
        # cursors never prepare.
        raw.prepare_threshold = NEVER_BY_COUNT
    return _prepared_cursor_class()(raw)


def _utc_loader(db, psycopg_cursor):
    """psycopg's default timestamptz loader when it gives exactly what Django's gives, else None.

    Django loads every timestamptz with psycopg's pure-Python loader (a regular expression and
    a dozen int() calls) and then `replace(tzinfo=the database's timezone)`: several percent
    of an introspection request's instructions for its seven timestamps. psycopg's default
    (compiled, with psycopg's binary implementation) returns the instant in the connection's
    TimeZone, which is `datetime.timezone.utc` itself when that TimeZone is "UTC" (as Django
    sets it with USE_TZ). So when Django's loader would put that same `timezone.utc` in (USE_TZ,
    the database TIME_ZONE left unset) and the server says its TimeZone is UTC, the default
    loader's values are Django's, tzinfo object and all; in any other configuration (or with a
    loader that is not Django's) the cursor's loader stays."""
    oid, text, default, django_class = _timestamptz()
    django_loader = psycopg_cursor.adapters.get_loader(oid, text)
    if getattr(django_loader, "timezone", None) is not datetime.UTC or not issubclass(
        django_loader, django_class
    ):
        return None
    if db.connection.pgconn.parameter_status(b"TimeZone") != b"UTC":
        return None
    return default


@cache
def _timestamptz():
    """timestamptz's oid, the text format, psycopg's default text loader for it and the class
    of Django's."""
    import psycopg
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg.postgres import types
    from psycopg.pq import Format

    oid = types["timestamptz"].oid
    return oid, Format.TEXT, psycopg.adapters.get_loader(oid, Format.TEXT), BaseTzLoader


@cache
def _prepared_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            # psycopg leaves the last query unset on this path; Django's query log (DEBUG,
            # CaptureQueriesContext) reads it, and would show None instead of the SQL.
            self._query = pgq
            return super()._send_query_prepared(name, pgq, binary=binary)

    return PreparedCursor
