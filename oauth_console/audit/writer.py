"""Write-behind: audit events leave the request at once and reach the database in batches.

Measured (docs/audit.md): an extra INSERT and COMMIT per request cost the token endpoint about a
third of its throughput, because the commit, not the statement, is what is expensive. So the
request only hashes the event, logs the SIEM line and puts the event on a queue; one daemon
thread per process writes what has gathered (up to AUDIT_WRITE_BATCH events, at most
AUDIT_WRITE_DELAY_MS later) with one multi-row INSERT and one commit.

What that trades: events of the last AUDIT_WRITE_DELAY_MS are lost if the process is killed
(SIGKILL, power loss); a normal exit flushes them (atexit), and the SIEM has every line already.
"""

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection

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
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def put(self, item) -> None:
        """Queue an event (or a callable to run on the writer thread)."""
        self._ensure_running()
        self._queue.put(item)

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued so far is written; False on timeout."""
        if not self._running():
            return True
        marker = _Flush()
        self._queue.put(marker)
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
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                batch, markers = [], []
                self._take(item, batch, markers)
                deadline = time.monotonic() + settings.AUDIT_WRITE_DELAY_MS / 1000
                stop = False
                while len(batch) < settings.AUDIT_WRITE_BATCH and not markers:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        item = self._queue.get(timeout=remaining)
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    self._take(item, batch, markers)
                self._write_batch(batch)
                for marker in markers:
                    marker.done.set()
                if stop:
                    return
        finally:
            connection.close()

    @staticmethod
    def _take(item, batch: list, markers: list) -> None:
        if isinstance(item, _Flush):
            markers.append(item)
        else:
            batch.append(item)

    def _write_batch(self, batch: list) -> None:
        if not batch:
            return
        close_old_connections()  # a long-lived thread must notice a dropped connection
        events = [item for item in batch if not callable(item)]
        try:
            self._write(events)
            for job in (item for item in batch if callable(item)):
                job()
        except Exception:  # write() logs its own failures; this is a last resort
            logger.exception("The audit writer failed on a batch of %d", len(batch))

    def stop(self) -> None:
        """Write what is queued and end the thread (at exit)."""
        if self._running():
            self._queue.put(_STOP)
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
