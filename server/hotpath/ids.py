"""Row ids taken from a table's sequence ahead of the INSERT, a few at a time (PostgreSQL).

A row whose content must be known before it is written needs its id first: an audit event's
position hash covers its id, and a token's audit event names the token's id, which the token
and its event in one statement (`server.hotpath.riders`) must know before that statement runs.
Asking the sequence for one id is a round trip of its own on every request; this takes
`BLOCK` of them in one (`nextval` over `generate_series`) and hands them out in order.

What that changes, and why it is safe:
- Ids are still unique (a sequence never hands out a value twice) and still increase within a
  worker, but no longer across workers: worker A may write id 40 after worker B wrote id 70.
  Nothing orders by id as by time except the audit log's sealing, which seals only events older
  than AUDIT_CHECKPOINT_DELAY; so ids are kept at most `max_age` seconds (a quarter of that
  delay, at most 5 s), after which unused ones are dropped. An id handed out is written within
  its request, long before a seal can pass it.
- Unused ids are gaps, as a rolled-back transaction leaves: nothing counts on ids being dense.
- The ids live in this process's memory, per thread (Django's connections are per thread) and
  per process (a forked worker starts afresh). Resetting a sequence under running workers
  (a restore, `flush` with `reset_sequences`) needs them restarted, or `forget()` in tests.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque

from django.db import connection

from server.hotpath import riders

BLOCK = 32


class _Taken(threading.local):
    def __init__(self):
        self.pid = os.getpid()
        self.by_table: dict[str, tuple[float, deque[int]]] = {}


_taken = _Taken()


def forget() -> None:
    """Drop every id this thread holds (tests that reset sequences)."""
    _taken.by_table.clear()


def next_ids(table: str, count: int = 1, *, max_age: float = 5.0) -> list[int]:
    """`count` fresh ids of `table`'s id column, in increasing order. PostgreSQL only.

    From this thread's block when it holds enough younger than `max_age` seconds; else one
    round trip takes `count` plus a new block (`max_age` 0: exactly `count`, kept nowhere)."""
    if _taken.pid != os.getpid():  # a forked child must not reuse its parent's ids
        _taken.pid = os.getpid()
        forget()
    now = time.monotonic()
    held = _taken.by_table.get(table)
    if held is not None:
        taken_at, ids = held
        if now - taken_at <= max_age and len(ids) >= count:
            return [ids.popleft() for _ in range(count)]
    spare = BLOCK if max_age > 0 else 0
    with riders.aside(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [connection.ops.quote_name(table), count + spare],
        )
        fresh = [row[0] for row in cursor.fetchall()]
    fresh.sort()  # nextval over a series is increasing already; say so rather than rely on it
    if spare:
        _taken.by_table[table] = (now, deque(fresh[count:]))
    else:
        _taken.by_table.pop(table, None)
    return fresh[:count]
