"""Write-behind (AUDIT_WRITE_BEHIND, off by default): audit events leave the request at once and
reach the database in batches. Durability traded for speed.

By default an event of a write commits in the write's own transaction (`recorder.write_with_fact`)
and observed events are written when the request ends. With write-behind on, the request only
hashes the event and puts it on a queue after commit; one daemon thread per process wakes every
AUDIT_WRITE_DELAY_MS (or when AUDIT_WRITE_BATCH events wait) and writes what has gathered with
one multi-row INSERT and one commit per batch. Measured (docs/audit.md): an extra INSERT and
COMMIT per request cost the token endpoint about a third of its throughput.

What that trades: events of the last AUDIT_WRITE_DELAY_MS are lost if the process is killed
(SIGKILL, OOM kill, power loss) while the tokens they report stay issued
(tests/security/test_audit_durability.py fails with it on); a normal exit flushes them (atexit),
and the SIEM has every line already.
"""

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection, transaction

logger = logging.getLogger("oauth_console.audit")


@dataclass
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


_STOP = object()


class WriteBehind:
    """A queue and the thread that empties it into the database."""

    def __init__(self, write: Callable[[list], None]):
        self._write = write
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def put(self, item) -> None:
        """Queue an event (or a callable to run on the writer thread)."""
        self._ensure_running()
        self._queue.put(item)
        # The writer sleeps between rounds instead of waking for every event (each wake-up is a
        # thread switch on the request's time); a full batch wakes it early.
        if self._queue.qsize() >= settings.AUDIT_WRITE_BATCH:
            self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued so far is written; False on timeout."""
        if not self._running():
            return True
        marker = _Flush()
        self._queue.put(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def _running(self) -> bool:
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def _ensure_running(self) -> None:
        if self._running():
            return
        with self._lock:
            if self._running():
                return
            if self._pid != os.getpid():
                # A forked worker inherits the queue object but not the thread: start afresh.
                self._queue = queue.SimpleQueue()
                self._wake = threading.Event()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(settings.AUDIT_WRITE_DELAY_MS / 1000)
                self._wake.clear()
                if self._drain():
                    return
        finally:
            connection.close()

    def _drain(self) -> bool:
        """Write everything queued, in batches; True when told to stop."""
        batch: list = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                self._write_batch(batch)
                return False
            if item is _STOP:
                self._write_batch(batch)
                return True
            if isinstance(item, _Flush):
                self._write_batch(batch)
                batch = []
                item.done.set()
                continue
            batch.append(item)
            if len(batch) >= settings.AUDIT_WRITE_BATCH:
                self._write_batch(batch)
                batch = []

    def _write_batch(self, batch: list) -> None:
        if not batch:
            return
        close_old_connections()  # a long-lived thread must notice a dropped connection
        events = [item for item in batch if not callable(item)]
        jobs = [item for item in batch if callable(item)]
        try:
            # One commit for the whole batch (the commit is the expensive part); the events'
            # INSERT is its own savepoint inside, so a failing job cannot take the events along.
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # Do not wait for this commit's WAL flush: the next request's commit flushes
                    # it anyway, and a crash can lose at most what write-behind already risks.
                    # Waiting would put one more disk flush per batch beside the requests' own.
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                self._write(events)
                for job in jobs:
                    try:
                        with transaction.atomic():
                            job()
                    except Exception:
                        logger.exception("An audit writer job failed")
        except Exception:  # write() logs its own failures; this is a last resort
            logger.exception("The audit writer failed on a batch of %d", len(batch))

    def stop(self) -> None:
        """Write what is queued and end the thread (at exit)."""
        if self._running():
            self._queue.put(_STOP)
            self._wake.set()
            self._thread.join(timeout=10)


def enabled() -> bool:
    return bool(getattr(settings, "AUDIT_WRITE_BEHIND", False))


_writer: WriteBehind | None = None


def get_writer() -> WriteBehind:
    """The process's writer (created on first use)."""
    global _writer
    if _writer is None:
        from oauth_console.audit import recorder

        _writer = WriteBehind(recorder.insert)
        atexit.register(_writer.stop)
    return _writer


def flush(timeout: float = 10.0) -> bool:
    """Write everything queued so far (tests, management commands, shutdown)."""
    return _writer.flush(timeout) if _writer is not None else True
