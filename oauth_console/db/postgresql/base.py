"""Django's PostgreSQL backend, with the connection health check skipped while a connection is busy.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request: on the
protocol endpoints, whose whole work is one or two indexed statements, that round trip is a
third of the database time. The check exists for connections that died while idle (a database
restart, a firewall dropping idle sockets), so it runs here only when the connection has not
been used for DB_HEALTH_CHECK_AFTER_IDLE seconds (PgBouncer's `server_check_delay` does the
same). A connection that fails mid-request is still caught: Django checks it after any error and
closes it, the request gets the outage guard's 503, and the next one reconnects.
DB_HEALTH_CHECK_AFTER_IDLE = 0 restores Django's check on every request.

`cursor_around(make)`: Django's `cursor()` around a psycopg cursor of the caller's making (the
hot paths' prepared cursor, server/hotpath/prepared.py).
"""

import math
import time

from django.db.backends.postgresql import base
from django.utils.asyncio import async_unsafe

from oauth_console.hot_settings import setting


class DatabaseWrapper(base.DatabaseWrapper):
    # monotonic time of the last request that used this connection
    last_used_at = -math.inf

    def close_if_health_check_failed(self):
        now = time.monotonic()
        idle_limit = setting("DB_HEALTH_CHECK_AFTER_IDLE", 0)  # per request: kept (hot_settings)
        if (
            self.connection is not None
            and not self.health_check_done
            and now - self.last_used_at < idle_limit
        ):
            self.health_check_done = True  # proved itself moments ago
        else:
            super().close_if_health_check_failed()
        self.last_used_at = now

    @async_unsafe
    def cursor_around(self, make):
        """`cursor()` around the psycopg cursor `make(connection)` returns, in place of Django's
        default one: the hot paths' prepared cursor (server/hotpath/prepared.py), which used to
        replace a default cursor made for nothing on every call. The same steps as `cursor()`
        (health check, connection, thread check, query logging, error wrapping); only the
        default cursor's own set-up is left out, a timezone loader the prepared cursor never
        had."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(make(self.connection))
