"""Retention: deleting the events older than an age, so that what remains still verifies.

The log is cut after a checkpoint: everything up to the last seal that ends before the cutoff
goes, and a prune record names that seal's digest so the first remaining seal still chains
(`oauth_console.audit.checkpoints`). On PostgreSQL the months wholly before the cutoff whose
events all lie at or below the cut are dropped as partitions (`oauth_console.audit.partitions`):
a catalog change, under a second whatever a month holds. Only the rest (the boundary month,
and on SQLite the whole range) is deleted row by row, in set-based range DELETEs walking the id.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from oauth_console.audit import chain, partitions
from oauth_console.audit.checkpoints import latest_prune, seal
from oauth_console.audit.models import AuditEvent, Checkpoint

Progress = Callable[[int], None]


@dataclass(frozen=True)
class PruneResult:
    # Events under the checkpoints this prune removed (what the prune record counts).
    deleted: int
    through_event_id: int | None
    dropped: tuple[str, ...] = field(default=())  # month partitions dropped whole
    rows_deleted: int = 0  # of which deleted row by row (the boundary month; all on SQLite)


def _cut(cutoff) -> int | None:
    """The last event id that may go: just before the first event young enough to keep, never
    a younger event even where clocks made ids and times disagree; None if nothing is older."""
    first_kept = (
        AuditEvent.objects.filter(occurred_at__gte=cutoff).order_by("pk").values_list("pk", flat=True).first()
    )
    if first_kept is not None:
        return first_kept - 1 or None
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()


def _delete_range(table: str, through: int, batch: int, done: int, progress: Progress | None) -> int:
    """Delete the rows of `table` with id <= `through`, `batch` ids' worth per statement, each its
    own transaction, walking up from the smallest id (never rereading what is already gone)."""
    deleted = 0
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT min(id) FROM "{table}" WHERE id <= %s', [through])  # noqa: S608 (our own table names)
        (low,) = cursor.fetchone()
    if low is None:
        return 0
    low -= 1  # exclusive lower bound
    while low < through:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f'SELECT id FROM "{table}" WHERE id > %s AND id <= %s ORDER BY id LIMIT 1 OFFSET %s',  # noqa: S608 (our own table names)
                [low, through, batch - 1],
            )
            row = cursor.fetchone()
            high = row[0] if row else through
            cursor.execute(f'DELETE FROM "{table}" WHERE id > %s AND id <= %s', [low, high])  # noqa: S608 (our own table names)
            deleted += cursor.rowcount
        low = high
        if progress:
            progress(done + deleted)
    return deleted


def prune(*, older_than: timedelta, batch: int = 10_000, progress: Progress | None = None) -> PruneResult:
    """Delete events older than `older_than`, whole checkpoints at a time; PostgreSQL drops
    whole expired months. `progress` hears the running count of rows deleted one by one.

    Seals first, so the old events are covered; then removes everything up to the last
    checkpoint that ends before the cutoff and writes a prune record that lets the rest verify.
    """
    cutoff = timezone.now() - older_than
    limit = _cut(cutoff)
    if not limit:
        return PruneResult(0, None)
    # Seal up to the cutoff first, so that a fresh checkpoint does not straddle it. (One written
    # earlier may; it is kept whole, so retention keeps at most one checkpoint's worth more.)
    seal(through_event_id=limit, delay=0)
    boundary = (
        Checkpoint.objects.filter(kind=Checkpoint.Kind.SEAL, last_event_id__lte=limit)
        .order_by("-last_event_id")
        .first()
    )
    if boundary is None:
        return PruneResult(0, None)
    through = boundary.last_event_id
    previous = latest_prune()

    # A month may be dropped whole when none of its events lies past the cut (events whose
    # time and id disagree keep their month until a later prune).
    to_drop, to_delete = [], []
    if partitions.is_partitioned():
        expired = {name for _, name in partitions.expired(cutoff)}
        for name in [*partitions.months().values(), partitions.DEFAULT_PARTITION]:
            low, high = partitions.id_bounds(name)
            if low is None or low > through:
                continue
            (to_drop if name in expired and high <= through else to_delete).append(name)
    else:
        to_delete.append(AuditEvent._meta.db_table)
    rows_deleted = 0
    for table in to_delete:
        rows_deleted += _delete_range(table, through, batch, rows_deleted, progress)

    pruned = (
        Checkpoint.objects.filter(kind=Checkpoint.Kind.SEAL, last_event_id__lte=through).aggregate(
            total=Sum("event_count")
        )["total"]
        or 0
    )
    total = pruned + (previous.event_count if previous else 0)
    with transaction.atomic():
        # The drop commits with the prune record: the log never lacks a month without saying so.
        partitions.drop(to_drop)
        Checkpoint.objects.create(
            kind=Checkpoint.Kind.PRUNE,
            first_event_id=previous.first_event_id if previous else 1,
            last_event_id=through,
            event_count=total,
            id_ranges=[],
            prev_digest=boundary.digest,
            digest=chain.prune_digest(prev_digest=boundary.digest, last_event_id=through, event_count=total),
        )
        Checkpoint.objects.filter(kind=Checkpoint.Kind.SEAL, last_event_id__lte=through).delete()
        # Older prune records are superseded by this one.
        Checkpoint.objects.filter(kind=Checkpoint.Kind.PRUNE, last_event_id__lt=through).delete()
    return PruneResult(pruned, through, tuple(to_drop), rows_deleted)
