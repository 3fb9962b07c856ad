"""The audit table's monthly partitions (PostgreSQL): creating them ahead, finding and dropping
the expired ones.

On PostgreSQL `audit_auditevent` is partitioned by RANGE on `occurred_at`, one partition per
calendar month (UTC) named `audit_auditevent_pYYYY_MM`, plus a DEFAULT partition that catches a
row no month partition takes, so no INSERT ever fails for want of one. Retention then drops
whole months (`oauth_console.audit.retention`): a catalog change, the same fraction of a second whatever the
month holds. On SQLite the table stays one plain table and every function here is a no-op.

The primary key is (id, occurred_at), because PostgreSQL requires a partitioned table's unique
constraints to include the partition key. Ids still come from one sequence, so they stay unique
and ordered across months; that the database no longer enforces it alone is covered by the
checkpoints (a second row with a sealed id is reported as inserted, docs/audit.md).
"""

import re
from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.utils import timezone

TABLE = "audit_auditevent"
DEFAULT_PARTITION = f"{TABLE}_default"
# Months created ahead of the current one, by the migration, seal_audit_log and prune_audit_log:
# the every-minute seal job keeps the next three months ready long before they start.
MONTHS_AHEAD = 3
_MONTH_NAME = re.compile(rf"{TABLE}_p([0-9]{{4}})_([0-9]{{2}})")


def month_of(moment: datetime) -> date:
    """The first day of `moment`'s month in UTC."""
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month.year:04d}_{month.month:02d}"


def _bound(month: date) -> str:
    return f"{month.isoformat()} 00:00:00+00"


def is_partitioned(using=None) -> bool:
    """True when the audit table is a partitioned table (PostgreSQL after migration audit.0008)."""
    using = using or connection
    if using.vendor != "postgresql":
        return False
    with using.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def months(using=None) -> dict[date, str]:
    """The month partitions that exist: {first day of the month: table name}, oldest first."""
    using = using or connection
    with using.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        names = [name for (name,) in cursor.fetchall()]
    found = {}
    for name in names:
        match = _MONTH_NAME.fullmatch(name)
        if match:
            found[date(int(match[1]), int(match[2]), 1)] = name
    return dict(sorted(found.items()))


def create_default(cursor) -> None:
    cursor.execute(f'CREATE TABLE IF NOT EXISTS "{DEFAULT_PARTITION}" PARTITION OF "{TABLE}" DEFAULT')


def create_month(month: date, using=None) -> bool:
    """Create `month`'s partition if it is missing; True if it was created.

    Rows of that month already in the DEFAULT partition (written while the month had no
    partition of its own) move into it in the same transaction, since PostgreSQL refuses a new
    partition whose rows the default still holds.
    """
    using = using or connection
    if using.vendor != "postgresql":
        return False
    name = partition_name(month)
    low, high = _bound(month), _bound(next_month(month))
    with transaction.atomic(using=using.alias), using.cursor() as cursor:
        # DDL on the parent waits for every open transaction on it: give up rather than queue
        # the token endpoint's INSERTs behind us; the next run tries again.
        cursor.execute("SET LOCAL lock_timeout = '5s'")
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT_PARTITION])
        has_default = cursor.fetchone()[0]
        stranded = False
        if has_default:
            cursor.execute(
                f'SELECT EXISTS (SELECT 1 FROM "{DEFAULT_PARTITION}" '  # noqa: S608 (our own table names)
                "WHERE occurred_at >= %s AND occurred_at < %s)",
                [low, high],
            )
            stranded = cursor.fetchone()[0]
        if not stranded:
            cursor.execute(
                f'CREATE TABLE "{name}" PARTITION OF "{TABLE}" FOR VALUES FROM (%s) TO (%s)', [low, high]
            )
            return True
        # Take the month's rows out of the default, then attach the filled table as the month.
        cursor.execute(f'LOCK TABLE "{TABLE}" IN SHARE ROW EXCLUSIVE MODE')
        cursor.execute(f'CREATE TABLE "{name}" (LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
        cursor.execute(
            f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" WHERE occurred_at >= %s AND occurred_at < %s '  # noqa: S608 (our own table names)
            f'RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
            [low, high],
        )
        cursor.execute(
            f'ALTER TABLE "{TABLE}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)', [low, high]
        )
    return True


def ensure_ahead(*, now: datetime | None = None, ahead: int = MONTHS_AHEAD, using=None) -> list[str]:
    """Create this month's partition and the next `ahead` months' where missing; their names.

    Cheap when there is nothing to do (one catalog query), so the every-minute seal job calls it.
    """
    using = using or connection
    if not is_partitioned(using):
        return []
    existing = months(using)
    month = month_of(now or timezone.now())
    created = []
    for _ in range(ahead + 1):
        if month not in existing and create_month(month, using):
            created.append(partition_name(month))
        month = next_month(month)
    return created


def expired(cutoff: datetime, using=None) -> list[tuple[date, str]]:
    """Month partitions wholly older than `cutoff` (their month ends at or before it), oldest first."""
    using = using or connection
    if not is_partitioned(using):
        return []
    return [(month, name) for month, name in months(using).items() if _end(month) <= cutoff]


def _end(month: date) -> datetime:
    following = next_month(month)
    return datetime(following.year, following.month, 1, tzinfo=UTC)


def id_bounds(name: str, using=None) -> tuple[int | None, int | None]:
    """The smallest and largest event id in one partition (two probes of its primary key)."""
    using = using or connection
    with using.cursor() as cursor:
        cursor.execute(f'SELECT (SELECT min(id) FROM "{name}"), (SELECT max(id) FROM "{name}")')  # noqa: S608 (our own table names)
        return cursor.fetchone()


def drop(names: list[str], using=None) -> None:
    """Drop whole partitions (their rows go with them). Call inside the prune's transaction."""
    if not names:
        return
    using = using or connection
    with using.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '5s'")
        for name in names:
            cursor.execute(f'DROP TABLE "{name}"')
