"""The hot paths' cursor: on PostgreSQL, server-side binding and a statement prepared once per
connection (`OAUTH2_PREPARED_STATEMENTS`)."""

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
    with db.cursor() as wrapper:
        if db.vendor == "postgresql" and server_settings.OAUTH2_PREPARED_STATEMENTS:
            raw = db.connection
            if raw.prepare_threshold is None:
                # Django turns preparing off (None) for poolers' sake; a threshold no query
                # reaches turns it back on for explicit `prepare=True` only: Django's own
                # client-side-binding cursors never prepare.
                raw.prepare_threshold = NEVER_BY_COUNT
            wrapper.cursor = _prepared_cursor_class()(raw)
        yield wrapper


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
