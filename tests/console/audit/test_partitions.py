"""The audit table partitioned by month (PostgreSQL): partitions made ahead, a default that takes
what has no month, retention by dropping months, and checkpoints that verify across them."""

from datetime import UTC, datetime, timedelta
from importlib import import_module
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from oauth_console.audit import checkpoints, partitions, recorder, retention
from oauth_console.audit.models import AuditEvent, Checkpoint, EventType

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="declarative partitioning is PostgreSQL's; SQLite keeps one table",
)
# Events are written when a transaction commits (recorder.write), and DDL is under test.
pytestmark = pytest.mark.django_db(transaction=True)

THIS_MONTH = partitions.month_of(timezone.now())


def months_back(count: int):
    month = THIS_MONTH
    for _ in range(count):
        month = (datetime(month.year, month.month, 1) - timedelta(days=1)).date().replace(day=1)
    return month


def at(month, day: int = 10, hour: int = 12) -> datetime:
    return datetime(month.year, month.month, day, hour, tzinfo=UTC)


def record_at(moment: datetime, **fields) -> int:
    recorder.record(fields.pop("event_type", EventType.LOGIN_FAILED), at=moment, **fields)
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()


def home(event_id: int) -> str:
    """The table (partition) an event's row lives in."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM audit_auditevent WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def problem():
    return checkpoints.verify().problem


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def partitions_left_as_found():
    """DDL outlives a transactional test: drop the months a test made, remake those it dropped,
    so the next test (retention's batches, say) sees the layout the migration leaves."""
    before = set(partitions.months()) if partitions.is_partitioned() else set()
    yield
    if not partitions.is_partitioned():
        return
    for month, name in partitions.months().items():
        if month not in before:
            sql(f'DROP TABLE "{name}"')
    for month in before - set(partitions.months()):
        partitions.create_month(month)


@pytest.fixture
def three_old_months():
    """Two events in each of the months three, two and one back (their partitions created),
    two this month; each month sealed by its own checkpoint (a checkpoint that straddles the
    cutoff is kept whole). Returns {month: [ids]}."""
    events = {}
    for back in (3, 2, 1):
        month = months_back(back)
        partitions.create_month(month)
        events[month] = [record_at(at(month, 5)), record_at(at(month, 20))]
        checkpoints.seal(delay=0)
    events[THIS_MONTH] = [record_at(timezone.now() - timedelta(seconds=5)) for _ in range(2)]
    checkpoints.seal(delay=0)
    return events


def test_sqlite_keeps_one_plain_table():
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite side of the same behaviour")
    assert not partitions.is_partitioned()
    assert partitions.ensure_ahead() == []
    assert partitions.expired(timezone.now()) == []


# --- creating partitions ----------------------------------------------------------------------------


@postgresql_only
def test_the_migration_leaves_this_month_the_next_three_and_a_default():
    assert partitions.is_partitioned()
    existing = partitions.months()
    month = THIS_MONTH
    for _ in range(partitions.MONTHS_AHEAD + 1):
        assert partitions.partition_name(month) == existing[month]
        month = partitions.next_month(month)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partitions.DEFAULT_PARTITION])
        assert cursor.fetchone()[0]
    event = record_at(timezone.now())
    assert home(event) == partitions.partition_name(THIS_MONTH)


@postgresql_only
def test_seal_job_creates_a_missing_month_ahead():
    later = partitions.next_month(partitions.next_month(THIS_MONTH))
    sql(f'DROP TABLE "{partitions.partition_name(later)}"')
    assert later not in partitions.months()
    out, _ = run("seal_audit_log")
    assert f"Created partition {partitions.partition_name(later)}." in out
    assert later in partitions.months()
    assert partitions.ensure_ahead() == []  # nothing left to do: one catalog query


@postgresql_only
def test_an_event_without_a_month_lands_in_the_default_and_moves_when_its_month_is_made():
    far = THIS_MONTH.replace(year=THIS_MONTH.year + 2)
    event = record_at(at(far))
    assert home(event) == partitions.DEFAULT_PARTITION
    assert partitions.create_month(far) is True
    assert home(event) == partitions.partition_name(far)
    assert AuditEvent.objects.filter(pk=event).count() == 1
    assert partitions.create_month(far) is False
    checkpoints.seal(delay=0)
    assert problem() is None


# --- retention --------------------------------------------------------------------------------------


@postgresql_only
def test_prune_drops_whole_expired_months_and_the_rest_verifies(three_old_months):
    old, older = months_back(3), months_back(2)
    cutoff = at(months_back(1), 1, 0)  # the start of last month: two months wholly expired
    out, err = run(
        "prune_audit_log", "--older-than", f"{int((timezone.now() - cutoff) / timedelta(hours=1))}h"
    )
    assert "Deleted 4 audit events" in out and "2 month(s) dropped whole, 0 rows deleted" in out
    assert f"dropped partition {partitions.partition_name(old)}" in err
    assert old not in partitions.months() and older not in partitions.months()
    assert not AuditEvent.objects.filter(pk__in=three_old_months[old] + three_old_months[older]).exists()
    assert AuditEvent.objects.filter(pk__in=three_old_months[months_back(1)]).count() == 2
    pruned = AuditEvent.objects.get(event_type=EventType.AUDIT_LOG_PRUNED)
    assert pruned.detail["partitions_dropped"] == [partitions.partition_name(m) for m in (old, older)]
    assert Checkpoint.objects.get(kind="prune").last_event_id == three_old_months[older][-1]
    assert "Audit log intact" in run("verify_audit_log")[0]


@postgresql_only
def test_prune_deletes_only_the_boundary_months_older_rows():
    older, last = months_back(2), months_back(1)
    partitions.create_month(older)
    partitions.create_month(last)
    dropped = [record_at(at(older, day)) for day in (3, 4)]
    deleted_as_rows = [record_at(at(last, day)) for day in (3, 4, 5)]
    checkpoints.seal(delay=0)
    kept = record_at(at(last, 20))
    checkpoints.seal(delay=0)
    result = retention.prune(older_than=timezone.now() - at(last, 12), batch=2)
    assert (result.deleted, result.rows_deleted, result.through_event_id) == (5, 3, deleted_as_rows[-1])
    assert result.dropped == (partitions.partition_name(older),)
    assert last in partitions.months()  # kept: it still holds a younger event
    assert not AuditEvent.objects.filter(pk__in=dropped + deleted_as_rows).exists()
    assert AuditEvent.objects.filter(pk=kept).exists()
    assert problem() is None


@postgresql_only
def test_a_month_holding_an_event_past_the_cut_is_not_dropped(three_old_months):
    # Written late with a backdated time: its id is past every id the prune may remove.
    backdated = record_at(at(months_back(3), 25))
    checkpoints.seal(delay=0)
    result = retention.prune(older_than=timezone.now() - at(months_back(1), 1, 0))
    assert result.dropped == (partitions.partition_name(months_back(2)),)
    assert result.rows_deleted == 2  # the two older events of that month, deleted as rows
    assert months_back(3) in partitions.months()
    assert list(
        AuditEvent.objects.filter(occurred_at__lt=at(months_back(2), 1, 0)).values_list("pk", flat=True)
    ) == [backdated]
    assert problem() is None


@postgresql_only
def test_after_a_drop_a_row_inserted_under_a_pruned_id_is_named(three_old_months):
    retention.prune(older_than=timezone.now() - at(months_back(1), 1, 0))
    survivor = AuditEvent.objects.order_by("pk").first()
    survivor.pk = three_old_months[months_back(3)][0]
    survivor.save(force_insert=True)
    found = problem()
    assert found.kind == "inserted" and "was pruned up to" in found.message


# --- tampering across a partition boundary ---------------------------------------------------------


@pytest.fixture
def sealed_across_two_months():
    """Events in last month and this month, sealed by one checkpoint that spans both."""
    last = months_back(1)
    partitions.create_month(last)
    ids = [record_at(at(last, 27)), record_at(at(last, 28))]
    # An id left unused between the months (its row deleted before sealing): room to insert.
    AuditEvent.objects.filter(pk=record_at(at(last, 28, 13))).delete()
    ids += [record_at(timezone.now() - timedelta(seconds=3)) for _ in range(2)]
    assert checkpoints.seal(delay=0) == 4
    seal = Checkpoint.objects.get(kind="seal")
    assert (seal.first_event_id, seal.last_event_id) == (ids[0], ids[-1])
    if partitions.is_partitioned():
        assert {home(ids[1]), home(ids[2])} == {
            partitions.partition_name(last),
            partitions.partition_name(THIS_MONTH),
        }
    return ids


def test_a_checkpoint_spanning_two_months_verifies(sealed_across_two_months):
    report = checkpoints.verify()
    assert report.problem is None and report.sealed == 4


def test_altered_in_the_older_month_is_named(sealed_across_two_months):
    AuditEvent.objects.filter(pk=sealed_across_two_months[1]).update(username="mallory")
    assert (problem().kind, problem().event_id) == ("altered", sealed_across_two_months[1])


def test_moved_to_the_other_month_is_named(sealed_across_two_months):
    # On PostgreSQL the UPDATE moves the row into this month's partition.
    moved = sealed_across_two_months[1]
    AuditEvent.objects.filter(pk=moved).update(occurred_at=timezone.now() - timedelta(seconds=4))
    if partitions.is_partitioned():
        assert home(moved) == partitions.partition_name(THIS_MONTH)
    assert (problem().kind, problem().event_id) == ("altered", moved)


def test_deleted_from_the_older_month_is_named(sealed_across_two_months):
    AuditEvent.objects.filter(pk=sealed_across_two_months[1]).delete()
    assert (problem().kind, problem().event_id) == ("deleted", sealed_across_two_months[1])


def test_inserted_into_the_newer_month_inside_the_checkpoint_is_named(sealed_across_two_months):
    unused = sealed_across_two_months[1] + 1
    copy = AuditEvent.objects.get(pk=sealed_across_two_months[2])
    copy.pk = unused  # a copy of this month's event, under the id the checkpoint skips
    copy.save(force_insert=True)
    assert (problem().kind, problem().event_id) == ("inserted", unused)


@postgresql_only
def test_a_second_row_under_a_sealed_id_in_the_other_month_is_named(sealed_across_two_months):
    # The key is (id, occurred_at): PostgreSQL accepts a second row with an id the log holds.
    original = AuditEvent.objects.get(pk=sealed_across_two_months[1])
    twin = AuditEvent.objects.get(pk=sealed_across_two_months[1])
    twin.occurred_at = timezone.now() - timedelta(seconds=1)
    twin.save(force_insert=True)
    assert AuditEvent.objects.filter(pk=original.pk).count() == 2
    found = problem()
    assert found.kind in {"inserted", "altered"} and found.event_id == original.pk


@postgresql_only
def test_seal_refuses_a_second_row_under_an_unsealed_id():
    first = record_at(timezone.now() - timedelta(seconds=5))
    original = AuditEvent.objects.get(pk=first)
    original.occurred_at = at(months_back(1))
    original.save(force_insert=True)  # same id, last month: a forged copy
    refused: list[str] = []
    assert checkpoints.seal(delay=0, refused=refused) == 1
    assert refused == [f"Event #{first} was inserted: it repeats the id of another event."]
    assert Checkpoint.objects.get(kind="seal").id_ranges == [[first, first]]


# --- the migration ----------------------------------------------------------------------------------


@postgresql_only
def test_the_migration_converts_a_populated_table_keeping_ids_hashes_and_the_sequence():
    migration = import_module("oauth_console.audit.migrations.0009_partition_by_month")
    with connection.schema_editor() as editor:
        migration.unpartition(None, editor)
    assert not partitions.is_partitioned()
    ids = [record_at(at(months_back(back))) for back in (14, 2, 0)]
    checkpoints.seal(delay=0)
    before = list(
        AuditEvent.objects.order_by("pk").values_list("pk", "occurred_at", "entry_hash", "position_hash")
    )

    with connection.schema_editor() as editor:
        migration.partition(None, editor)
    assert partitions.is_partitioned()
    assert {months_back(14), months_back(2)} <= set(partitions.months())
    assert home(ids[0]) == partitions.partition_name(months_back(14))
    after = list(
        AuditEvent.objects.order_by("pk").values_list("pk", "occurred_at", "entry_hash", "position_hash")
    )
    assert after == before
    assert problem() is None
    assert record_at(timezone.now()) > ids[-1]  # the sequence carries on past the copied ids
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'audit_auditevent' ORDER BY indexname"
        )
        assert [name for (name,) in cursor.fetchall()] == [
            "audit_auditevent_pkey",
            "audit_client_occurred_id",
            "audit_ip_occurred_id",
            "audit_occurred",
            "audit_type_occurred_id",
            "audit_username_occurred_id",
        ]
