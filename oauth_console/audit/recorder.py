"""Build an audit event (its content HMAC included) and store it, with a JSON line to the
`oauth_console.audit` logger (the SIEM's copy).

Two ways to store, by what the event reports:

- **With its fact** (`record_with_fact`, the recorders `server.events.IN_TRANSACTION` runs: a
  token issued or revoked, a consent granted, every service event): the row is written inside the
  transaction of the write it reports, so both commit or neither does, and a crash can lose
  neither without the other. A failure raises and rolls the fact back: the audit log loses
  nothing, at the price of refusing a fact it cannot record.
- **Observed** (`record`: authentications, refusals, throttles, a bearer token's use): after
  the surrounding transaction commits, all of a request's events in one INSERT when the request
  ends (at once outside a request). These never raise: a failure is logged (logger.exception)
  and swallowed, because the audit log observes requests and must never break one.

`AUDIT_WRITE_BEHIND` (off by default) sends both kinds to a background thread instead
(`writer.py`): faster, and the last events can be lost if the process is killed.
"""

import logging
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from oauth_console.audit import chain, signals, writer
from oauth_console.audit.context import RequestContext, context_for, current_request
from oauth_console.audit.models import ActorKind, AuditEvent, Outcome
from server.hotpath import ids, riders
from server.hotpath.instances import unsaved_instances
from server.hotpath.params import Row
from server.hotpath.prepared import database

logger = logging.getLogger("oauth_console.audit")

# `AuditEvent(**values)`, without Model.__init__'s walk (server/hotpath/instances.py).
_new_event = unsaved_instances(AuditEvent)


def _request_context(request: HttpRequest | None) -> RequestContext | None:
    if request is not None:
        try:
            return context_for(request)
        except Exception:  # an odd request object must not cost us the event
            logger.exception("Could not read the request context of an audit event")
    return current_request.get()


def build_event(
    event_type: str,
    *,
    outcome: str = Outcome.SUCCESS,
    actor_kind: str = ActorKind.SYSTEM,
    actor_label: str = "",
    client_id: str | None = "",
    user_id: int | None = None,
    username: str = "",
    token_id: int | None = None,
    token_prefix: str = "",
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """An unsaved AuditEvent with its request context and content hash filled in."""
    context = _request_context(request)
    event = _new_event(
        occurred_at=at or timezone.now(),
        event_type=event_type,
        outcome=outcome,
        actor_kind=actor_kind,
        actor_label=(actor_label or "")[:200],
        client_id=(client_id or "")[:64],
        user_id=user_id,
        username=(username or "")[:150],
        token_id=token_id,
        token_prefix=(token_prefix or "")[:16],
        ip_address=context.ip_address if context else None,
        user_agent=context.user_agent if context else "",
        request_id=context.request_id if context else "",
        detail=chain.normalise_detail(detail or {}),
    )
    event.canonical = chain.canonical_content(event.__dict__)
    event.entry_hash = chain.entry_hash(event.canonical)
    return event


def _allocate_ids(count: int) -> list[int]:
    """The ids the next `count` events will have, taken before the INSERT so that each row's
    position hash can cover its id. PostgreSQL: from the table's sequence (concurrent writers
    get distinct ids without waiting), a few at a time (`server.hotpath.ids`). SQLite: after
    the highest id ever handed out, read inside
    the INSERT's transaction, whose write lock (transaction_mode IMMEDIATE) serialises writers."""
    table = AuditEvent._meta.db_table
    db = riders.unit_database()  # the token's unit's wrapper, when the event rides on it
    if db.vendor == "postgresql":
        return ids.next_ids(table, count, max_age=_ids_max_age())
    with db.cursor() as cursor:
        quoted = db.ops.quote_name(table)
        # AUTOINCREMENT's own counter too: an id once used (then deleted) is never given again.
        cursor.execute(
            f'SELECT MAX(n) FROM (SELECT seq AS n FROM "sqlite_sequence" WHERE name = %s '  # noqa: S608
            f"UNION ALL SELECT MAX(id) FROM {quoted})",
            [table],
        )
        start = (cursor.fetchone()[0] or 0) + 1
    return list(range(start, start + count))


def _ids_max_age() -> float:
    # Sealing passes only events older than AUDIT_CHECKPOINT_DELAY, in id order: an id taken
    # ahead must be written well before a seal can pass it (`server.hotpath.ids`).
    return getattr(settings, "AUDIT_CHECKPOINT_DELAY", 60) / 4


def _place(events: list[AuditEvent]) -> None:
    """Give `events` their ids and the position hashes that bind their content to them."""
    for event, event_id in zip(events, _allocate_ids(len(events)), strict=True):
        event.pk = event_id
        event.position_hash = chain.position_hash(event_id, event.entry_hash)


_FIELDS = AuditEvent._meta.concrete_fields
_COLUMNS = [field.column for field in _FIELDS]
_ROW = Row(_FIELDS)


@cache
def _insert_one_sql(vendor: str) -> str:
    del vendor  # the cache key
    q = connection.ops.quote_name
    columns = ", ".join(q(field.column) for field in _FIELDS)
    values = ", ".join(["%s"] * len(_FIELDS))
    return f"INSERT INTO {q(AuditEvent._meta.db_table)} ({columns}) VALUES ({values})"  # noqa: S608


def _write_rows(events: list[AuditEvent], *, after=None) -> None:
    """INSERT complete rows (ids and position hashes set); `after` runs once they commit. One
    event, the common case and the one on the token endpoint's path: a statement built once,
    not compiled per call by the ORM (measured: 0.15 to 0.2 ms of CPU less per event), or,
    when the fact it records waits for it (`server.hotpath.riders`, PostgreSQL), a part of the
    fact's own statement. Several: `bulk_create`, which splits what SQLite's parameter limit
    cannot take in one statement."""
    db = riders.unit_database()
    if len(events) > 1:
        AuditEvent.objects.bulk_create(events)
    else:
        event = events[0]
        params = _ROW.prepared([getattr(event, field.attname) for field in _FIELDS], db)
        if riders.riding():
            riders.ride(AuditEvent._meta.db_table, _COLUMNS, params, after=after)
            after = None
        else:
            with db.cursor() as cursor:
                cursor.execute(_insert_one_sql(db.vendor), params)
        event._state.adding = False
        event._state.db = db.alias
    if after is not None:
        db.on_commit(after)


def _insert_or_raise(events: list[AuditEvent], *, savepoint: bool) -> None:
    """Give `events` their ids and store them with one INSERT; raises on failure."""
    db = database()
    if len(events) == 1 and db.vendor == "postgresql" and not db.in_atomic_block:
        # Autocommit makes one INSERT atomic already; a transaction would add BEGIN/COMMIT.
        # (The sequence hands out the id without a transaction; SQLite needs one, below.)
        _place(events)
        _write_rows(events)
        return
    # SQLite takes the ids inside the INSERT's transaction (its write lock serialises writers).
    with transaction.atomic(savepoint=savepoint):
        _place(events)
        _write_rows(events)


def _seal_now_and_then(events: list[AuditEvent]) -> None:
    every = getattr(settings, "AUDIT_CHECKPOINT_EVERY", 0)
    if every and any(event.pk and event.pk % every == 0 for event in events):
        # Seal now and then from the write path too, so that a deployment without the cron job
        # still gets checkpoints: one write in `every` queues a seal for the task worker (the
        # request does not pay for it). Called after the commit, so the task sees these events.
        from oauth_console.audit import tasks

        try:
            tasks.seal_audit_log.enqueue()
        except Exception:
            logger.exception("Could not queue an audit checkpoint")


def insert(events: list[AuditEvent]) -> None:
    """Store observed `events` with one INSERT; never raises (a failure is logged, with the
    events)."""
    if not events:
        return
    try:
        # Inside a transaction (the writer's batch) this is a savepoint: a failure here must
        # not break the rest of the batch's work.
        _insert_or_raise(events, savepoint=True)
    except Exception:
        logger.exception("Could not write %d audit event(s)", len(events))
        for event in events:
            logger.error('{"audit_event_not_stored":"%s"}', event.entry_hash)
        return
    _seal_now_and_then(events)


def _log(event: AuditEvent) -> None:
    """The SIEM line, and the news that an event was recorded (metrics count it), once per event
    whichever path writes it."""
    logger.info('{"audit_event":%s,"entry_hash":"%s"}', event.canonical, event.entry_hash)
    signals.event_recorded.send_robust(sender=AuditEvent, event_type=event.event_type, outcome=event.outcome)


def write_with_fact(event: AuditEvent) -> None:
    """Store `event` now, in the current transaction (the fact's): it commits with the fact or
    not at all. Raises if it cannot be stored, so that the fact is rolled back with it. The SIEM
    line follows the commit (a rolled-back fact has no line); outside a transaction, at once.
    With AUDIT_WRITE_BEHIND it goes to the background writer after commit instead."""
    if writer.enabled():
        write(event)
        return
    after = lambda: (_log(event), _seal_now_and_then([event]))  # noqa: E731
    if riders.riding():
        # The fact waits to be written in one statement with its records (PostgreSQL).
        _place([event])
        _write_rows([event], after=after)
        return
    # No savepoint: the fact's transaction is the unit (a failure must abort it anyway).
    _insert_or_raise([event], savepoint=False)
    transaction.on_commit(after)


def _store(event: AuditEvent) -> None:
    # The SIEM copy first, so it does not depend on the database write: the canonical content
    # the hash covers, and the hash (which identifies the row).
    _log(event)
    if writer.enabled():
        writer.get_writer().put(event)
        return
    context = current_request.get()
    if context is not None and context.pending is not None:
        context.pending.append(event)  # the middleware writes them all when the request ends
    else:
        insert([event])


def write(event: AuditEvent) -> None:
    """Store `event` once the surrounding transaction commits (at once outside one).

    Inside a transaction the event waits for the commit: a rolled-back request leaves no
    event, and a failed INSERT cannot poison the caller's transaction. Then it waits for the end
    of the request, so that all of a request's events cost one INSERT (or goes to the
    write-behind queue, AUDIT_WRITE_BEHIND). For an event that reports a write, see
    `write_with_fact`.
    """
    transaction.on_commit(lambda: _store(event))


def run_after_write(job) -> None:
    """Run `job` (a small write, like touching a token) where events are written."""
    if writer.enabled():
        writer.get_writer().put(job)
    else:
        job()


def record(event_type: str, **fields: Any) -> None:
    """Build and write one event; never raises (see the module docstring)."""
    try:
        write(build_event(event_type, **fields))
    except Exception:
        logger.exception("Could not record audit event %s", event_type)


def record_with_fact(event_type: str, **fields: Any) -> None:
    """Build and write one event in the transaction of the fact it reports; raises on failure
    (see the module docstring)."""
    write_with_fact(build_event(event_type, **fields))
