"""Helpers of the fault tests (test_database_faults.py): a second PostgreSQL connection that
watches and cuts the others, and worker threads whose every outcome is checked."""

import contextlib
import threading
import time
from collections.abc import Callable

import psycopg
from django.db import connection

# How long a test waits for PostgreSQL or a worker thread before it fails (a hung fault is a
# failure, not a hang): a bound on waiting for an event, never a budget the test measures.
WAIT_SECONDS = 30


def connect_to_test_database(**extra) -> psycopg.Connection:
    s = connection.settings_dict  # the test database's, once pytest-django has created it
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"] or "postgres",
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=True,
        **extra,
    )


class DatabaseAdministrator:
    """A connection of its own that watches and cuts the other connections to the test database."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def _pids(self, condition: str = "true") -> set[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND " + condition
        ).fetchall()
        return {pid for (pid,) in rows}

    def wait_for(self, found: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not found():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.02)

    def waiting_for_a_lock(self, count: int) -> set[int]:
        """The `count` backends blocked on a lock (requests stopped in mid-transaction)."""
        waiting: set[int] = set()

        def enough():
            waiting.clear()
            waiting.update(self._pids("wait_event_type = 'Lock'"))
            return len(waiting) >= count

        self.wait_for(enough, f"{count} requests to block on the lock")
        assert len(waiting) == count, waiting
        return waiting

    def cut(self, pids: set[int]) -> None:
        """Terminate these backends, as a database restart or failover would, and wait until
        they are gone."""
        for pid in pids:
            (terminated,) = self.conn.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()
            assert terminated, pid
        self.wait_for(lambda: not (self._pids() & pids), f"backends {pids} to exit")

    @contextlib.contextmanager
    def holding(self, sql: str, params=()):
        """Hold the lock `sql` takes, in a transaction of a third connection, for the block."""
        with connect_to_test_database() as locker, locker.transaction():
            locker.execute(sql, params)
            yield


class Worker(threading.Thread):
    """A thread that keeps its function's result or exception for the test to check."""

    def __init__(self, target: Callable[[], object]):
        super().__init__(daemon=True)
        self.target = target
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.target()
        except BaseException as exc:  # reported by finish()
            self.error = exc


def finish(workers: list[Worker]) -> list:
    """Join every worker, fail if one is still running or raised; their results, in order."""
    for worker in workers:
        worker.join(WAIT_SECONDS)
    assert not [w for w in workers if w.is_alive()], "a worker thread did not finish"
    errors = [w.error for w in workers if w.error is not None]
    assert not errors, errors
    return [w.result for w in workers]
