"""PostgreSQL: the audit table becomes partitioned by month on `occurred_at` (SQLite: no change).

So that retention is dropping a month's partition, not deleting its rows one by one. The existing
table is converted in this migration's one transaction, so a failure leaves it as it was:
its indexes' definitions are read, the table is renamed aside, a partitioned table takes its
place with a partition for every month that has events (and this month and the next three, and
a DEFAULT partition), the rows are copied across, then the primary key (id, occurred_at) and the
same indexes are built once over the copied rows, and the id sequence continues where the old
one stopped. Rows keep their ids and hashes, so the checkpoints verify unchanged.

It takes an ACCESS EXCLUSIVE lock for the copy: audit writes (and so token issuance) wait. On
the bench machine 30 million events (16 GB) took 17.5 minutes, copy and index builds, on two
shared cores (bench/results/2026-12-06-scale-10x.md); on a large log, prune it first or plan a
maintenance window.
Django's model state does not change: the model keeps `id` as its primary key.
"""

from django.db import migrations
from django.utils import timezone

TABLE = "audit_auditevent"
OLD = "audit_auditevent_unpartitioned"
SEQUENCE = "audit_auditevent_id_seq"


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = %s
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ORDER BY i.indexname
        """,
        [table],
    )
    return cursor.fetchall()


def _next_id(cursor, table: str) -> int:
    """The first id the new table may hand out: past every row and past the old sequence."""
    cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"')  # noqa: S608 (our own table names)
    highest = cursor.fetchone()[0]
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    if sequence:
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608 (our own table names)
        last_value, is_called = cursor.fetchone()
        highest = max(highest, last_value if is_called else last_value - 1)
    return highest + 1


def _recreate_indexes(cursor, indexes: list[tuple[str, str]]) -> None:
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, definition in indexes:
        # A partitioned table's definitions read "ON ONLY" (the parent alone): build them whole.
        cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))


def _own_sequence(cursor, table: str, start: int) -> None:
    cursor.execute(f'CREATE SEQUENCE "{SEQUENCE}" OWNED BY "{table}".id')
    cursor.execute(f"""ALTER TABLE "{table}" ALTER COLUMN id SET DEFAULT nextval('"{SEQUENCE}"')""")
    cursor.execute("SELECT setval(%s, %s, false)", [SEQUENCE, start])


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite keeps one plain table
    from oauth_console.audit import partitions

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        if cursor.fetchone()[0] == "p":
            return
        cursor.execute(f'LOCK TABLE "{TABLE}" IN ACCESS EXCLUSIVE MODE')
        indexes = _secondary_indexes(cursor, TABLE)
        start = _next_id(cursor, TABLE)
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM \"{TABLE}\""  # noqa: S608 (our own table names)
        )
        months_with_events = {row[0] for row in cursor.fetchall()}
        # Free the names the new table's indexes and key take.
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME CONSTRAINT "{TABLE}_pkey" TO "{OLD}_pkey"')
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{OLD}"')
        cursor.execute(
            f'CREATE TABLE "{TABLE}" (LIKE "{OLD}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS) '
            "PARTITION BY RANGE (occurred_at)"
        )
        # A sequence default copied from the old table would tie its sequence to this one; the
        # new table gets a sequence of its own below.
        cursor.execute(f'ALTER TABLE "{TABLE}" ALTER COLUMN id DROP DEFAULT')
        partitions.create_default(cursor)
    month = partitions.month_of(timezone.now())
    for _ in range(partitions.MONTHS_AHEAD + 1):
        months_with_events.add(month)
        month = partitions.next_month(month)
    for month in sorted(months_with_events):
        partitions.create_month(month, schema_editor.connection)
    with schema_editor.connection.cursor() as cursor:
        # Copy before building the key and indexes: one sort per index, not one insertion per row.
        cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{OLD}"')  # noqa: S608 (our own table names)
        cursor.execute(f'DROP TABLE "{OLD}"')
        cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id, occurred_at)')
        _recreate_indexes(cursor, indexes)
        _own_sequence(cursor, TABLE, start)


def unpartition(apps, schema_editor):
    """Back to one plain table (its id a sequence default rather than an identity column)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        if cursor.fetchone()[0] != "p":
            return
        cursor.execute(f'LOCK TABLE "{TABLE}" IN ACCESS EXCLUSIVE MODE')
        indexes = _secondary_indexes(cursor, TABLE)
        start = _next_id(cursor, TABLE)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME CONSTRAINT "{TABLE}_pkey" TO "{OLD}_pkey"')
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{OLD}"')
        cursor.execute(f'ALTER SEQUENCE "{SEQUENCE}" OWNED BY NONE')
        # The copy keeps the default (nextval of the same sequence), which the new table then owns.
        cursor.execute(f'CREATE TABLE "{TABLE}" (LIKE "{OLD}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
        cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{OLD}"')  # noqa: S608 (our own table names)
        cursor.execute(f'DROP TABLE "{OLD}"')
        cursor.execute(f'ALTER SEQUENCE "{SEQUENCE}" OWNED BY "{TABLE}".id')
        cursor.execute("SELECT setval(%s, %s, false)", [SEQUENCE, start])
        cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id)')
        _recreate_indexes(cursor, indexes)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0008_new_event_types"),
    ]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
