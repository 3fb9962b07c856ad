"""verify_audit_log finds rows altered, deleted or inserted directly in the database."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from oauth_console.audit import chain, checkpoints, recorder
from oauth_console.audit.models import AuditEvent, Checkpoint, EventType
from tests.task_queue import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def make_events(count: int, *, days_ago: int = 0) -> list[int]:
    at = timezone.now() - timedelta(days=days_ago)
    for number in range(count):
        recorder.record(
            EventType.LOGIN_FAILED,
            username=f"user{number}",
            at=at + timedelta(microseconds=number),
            detail={"n": number},
        )
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


# The exact words verify_audit_log uses for each kind of tampering (docs/audit.md lists them).
NOT_INTACT = "Audit log NOT intact: "
ALTERED = "Event #{} was altered or forged: its hash does not match its content."
DELETED = "Event #{} was deleted (its checkpoint lists it)."
COPY = "Event #{} was inserted: it is a copy of event #{}."
FORGED = (
    "Event #{} was inserted or forged: its hash is not bound to its position "
    "(a copy of a deleted event, or written without the key)."
)
NOT_LISTED = "Event #{} was inserted: its checkpoint does not list it."
BETWEEN = "Event #{} was inserted between two checkpoints."
DUPLICATE = "Event #{} was inserted: it duplicates another event."
PRUNED = "Event #{} was inserted: the log was pruned up to #{}."
CHAIN_BROKEN = (
    "The checkpoint chain is broken before event #{}: the checkpoint or the events before it "
    "were deleted or replaced."
)
CHECKPOINT_ALTERED = (
    "The checkpoint #{} over events #{}..#{} does not match them (the checkpoint was altered)."
)
PRUNE_ALTERED = "The prune record #{} was altered (its digest does not match)."
LEGACY_ALTERED = "The legacy record #{} was altered (its digest does not match)."


def verify() -> str:
    out = StringIO()
    call_command("verify_audit_log", stdout=out, stderr=StringIO())
    return out.getvalue()


def verify_fails() -> str:
    with pytest.raises(CommandError) as failure:
        verify()
    assert failure.value.returncode == 1
    return str(failure.value)


def raw_copy(source_id: int, new_id: int) -> None:
    """INSERT a copy of an event under another id, as someone with database access would."""
    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.column != "id"]
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, {', '.join(columns)}) "
            f"SELECT %s, {', '.join(columns)} FROM {table} WHERE id = %s",
            [new_id, source_id],
        )


def test_intact_log_verifies_with_sealed_and_unsealed_events():
    make_events(5)
    assert checkpoints.seal(delay=0) == 5
    make_events(2)
    output = verify()
    assert "intact: 7 events checked, 5 under checkpoints, 2 not yet sealed" in output


def test_empty_log_verifies():
    assert "intact: 0 events" in verify()


@pytest.mark.parametrize("sealed", [True, False])
def test_altered_event_is_named(sealed):
    ids = make_events(6)
    if sealed:
        checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk=ids[3]).update(username="someone-else")
    assert verify_fails() == NOT_INTACT + ALTERED.format(ids[3])


def test_altered_time_is_detected():
    ids = make_events(3)
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk=ids[0]).update(occurred_at=timezone.now() - timedelta(days=3))
    assert verify_fails() == NOT_INTACT + ALTERED.format(ids[0])


def test_deleted_event_is_named():
    ids = make_events(6)
    checkpoints.seal(delay=0)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [ids[2]])
    assert verify_fails() == NOT_INTACT + DELETED.format(ids[2])


def test_deleting_the_newest_sealed_events_is_detected():
    ids = make_events(4)
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk__in=ids[2:]).delete()
    assert verify_fails() == NOT_INTACT + DELETED.format(ids[2])


def test_deleting_a_whole_sealed_range_and_its_checkpoint_breaks_the_chain():
    first = make_events(3)
    checkpoints.seal(delay=0)
    second = make_events(3)[3:]
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk__in=first).delete()
    Checkpoint.objects.filter(last_event_id=first[-1]).delete()
    assert verify_fails() == NOT_INTACT + CHAIN_BROKEN.format(second[0])


def test_forged_insert_in_the_unsealed_tail_is_named():
    ids = make_events(3)
    raw_copy(ids[0], ids[-1] + 10)
    AuditEvent.objects.filter(pk=ids[-1] + 10).update(username="forged")
    assert verify_fails() == NOT_INTACT + ALTERED.format(ids[-1] + 10)


def test_copied_insert_in_the_unsealed_tail_is_named():
    ids = make_events(3)
    raw_copy(ids[1], ids[-1] + 5)
    assert verify_fails() == NOT_INTACT + COPY.format(ids[-1] + 5, ids[1])


def test_insert_into_a_sealed_range_is_named():
    ids = make_events(5)
    # A gap, as a rolled-back transaction leaves one; the checkpoint records the ids it saw.
    AuditEvent.objects.filter(pk=ids[2]).delete()
    checkpoints.seal(delay=0)
    raw_copy(ids[0], ids[2])
    # The copy carries its original's position hash: named as a copy before the checkpoint
    # is consulted (a legacy row, which has none, is caught by the checkpoint: below).
    assert verify_fails() == NOT_INTACT + COPY.format(ids[2], ids[0])


def test_insert_between_checkpoints_is_named():
    first = make_events(2)
    checkpoints.seal(delay=0)
    AuditEvent.objects.create(event_type="login_failed", entry_hash="x")  # burn an id, then drop it
    gap = AuditEvent.objects.order_by("-id").first().pk
    AuditEvent.objects.filter(pk=gap).delete()
    make_events(2)
    checkpoints.seal(delay=0)
    raw_copy(first[0], gap)
    assert verify_fails() == NOT_INTACT + COPY.format(gap, first[0])


def test_altered_checkpoint_is_detected():
    ids = make_events(4)
    checkpoints.seal(delay=0)
    # The checkpoint rewritten to cover the first three events only (the ids are the real ones:
    # they need not start at 1).
    Checkpoint.objects.update(event_count=3, id_ranges=[[ids[0], ids[2]]], last_event_id=ids[2])
    seal = Checkpoint.objects.get()
    assert verify_fails() == NOT_INTACT + CHECKPOINT_ALTERED.format(seal.pk, ids[0], ids[2])


def test_seal_leaves_recent_events_for_later():
    make_events(3)
    assert checkpoints.seal() == 0  # younger than AUDIT_CHECKPOINT_DELAY
    assert checkpoints.seal(delay=0) == 3
    assert checkpoints.seal(delay=0) == 0
    assert Checkpoint.objects.count() == 1


def test_seal_splits_big_runs_into_chained_checkpoints():
    make_events(7)
    assert checkpoints.seal(delay=0, batch=3) == 7
    seals = list(Checkpoint.objects.order_by("last_event_id"))
    assert [s.event_count for s in seals] == [3, 3, 1]
    assert seals[1].prev_digest == seals[0].digest and seals[2].prev_digest == seals[1].digest
    assert "intact: 7 events checked, 7 under checkpoints" in verify()


def test_checkpoints_are_queued_from_the_write_path(settings):
    """Every AUDIT_CHECKPOINT_EVERY-th event queues a seal for the task worker, after its commit;
    no request seals (measured: a seal is ~920M instructions, a token request 5.3M)."""
    settings.AUDIT_CHECKPOINT_EVERY = 4
    settings.AUDIT_CHECKPOINT_DELAY = 0
    ids = make_events(9)
    # Nine consecutive ids hold two or three multiples of 4, depending on where they start (ids
    # need not start at 1): each queued one seal, and none sealed in the write.
    multiples = [i for i in ids if i % 4 == 0]
    queued = DBTaskResult.objects.filter(status="READY")
    assert queued.count() == len(multiples)
    assert {(task.task_path, task.queue_name) for task in queued} == {
        ("oauth_console.audit.tasks.seal_audit_log", "audit")
    }
    assert not Checkpoint.objects.exists()
    run_queued_tasks("audit")
    # The first seal covers everything written (it runs after the commits); the rest find nothing.
    assert Checkpoint.objects.filter(kind="seal").count() == 1
    sealed_by_each = sorted(DBTaskResult.objects.values_list("return_value", flat=True))
    assert sealed_by_each == [0] * (len(multiples) - 1) + [9]
    assert "9 events checked, 9 under checkpoints" in verify()


def test_verify_reports_progress_on_big_logs():
    make_events(5)
    err = StringIO()
    call_command("verify_audit_log", "--progress-every", "2", stdout=StringIO(), stderr=err)
    assert "2 events checked" in err.getvalue() and "4 events checked" in err.getvalue()


# --- copies: every event's hash is bound to its id (issue 11, item 8) ------------------------------


def insert_select_copy(source_id: int) -> int:
    """`INSERT … SELECT` of an event, the database choosing the new id; returns that id."""
    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.column != "id"]
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s",
            [source_id],
        )
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()


def sealed_ids() -> set[int]:
    return {
        event_id
        for seal in Checkpoint.objects.filter(kind="seal")
        for first, last in seal.id_ranges
        for event_id in range(first, last + 1)
    }


def test_copy_of_a_sealed_event_into_the_tail_is_named_and_never_sealed(settings):
    settings.AUDIT_CHECKPOINT_DELAY = 0
    ids = make_events(3)
    assert checkpoints.seal(delay=0) == 3
    copy = insert_select_copy(ids[1])
    expected = f"Event #{copy} was inserted: it is a copy of event #{ids[1]}."
    # Sealed before verifying: a verify run records itself (issue 12), and its line would be
    # sealed here too.
    refused = []
    assert checkpoints.seal(delay=0, refused=refused) == 0
    assert refused == [expected]
    assert verify_fails() == f"Audit log NOT intact: {expected}"
    # Events after the copy are sealed; the copy never is, and stays named.
    later = make_events(1)[-1]
    with pytest.raises(CommandError) as failure:
        call_command("seal_audit_log", stdout=StringIO(), stderr=StringIO())
    assert expected in str(failure.value)
    assert later in sealed_ids() and copy not in sealed_ids()
    assert verify_fails() == f"Audit log NOT intact: {expected}"


def test_copy_of_an_unsealed_event_is_named_and_not_sealed():
    ids = make_events(2)
    copy = insert_select_copy(ids[0])
    expected = f"Event #{copy} was inserted: it is a copy of event #{ids[0]}."
    assert verify_fails() == f"Audit log NOT intact: {expected}"
    refused = []
    # 2 events and the verify run's own line (the audit commands record themselves).
    assert checkpoints.seal(delay=0, refused=refused) == 3
    assert refused == [expected] and copy not in sealed_ids()
    assert verify_fails() == f"Audit log NOT intact: {expected}"


def test_copy_of_a_deleted_event_is_still_caught():
    ids = make_events(3)
    copy = insert_select_copy(ids[2])
    AuditEvent.objects.filter(pk=ids[2]).delete()
    assert verify_fails() == NOT_INTACT + FORGED.format(copy)


def legacy(ids: list[int]) -> None:
    """The log as migration audit.0007 finds it: rows without position hashes, and the legacy
    record it writes."""
    AuditEvent.objects.update(position_hash="")
    Checkpoint.objects.create(
        kind="legacy",
        first_event_id=ids[0],
        last_event_id=ids[-1],
        event_count=0,
        digest=chain.legacy_digest(last_event_id=ids[-1]),
    )


def test_rows_from_before_position_hashes_verify_under_the_legacy_record():
    ids = make_events(3)
    legacy(ids)
    assert "intact: 3 events checked, 0 under checkpoints" in verify()
    assert checkpoints.seal(delay=0) == 4  # and the verify run's own line
    make_events(2)  # new rows carry position hashes
    assert "intact: 6 events checked, 4 under checkpoints" in verify()


def test_copy_of_a_legacy_row_into_the_tail_is_named():
    ids = make_events(3)
    legacy(ids)
    checkpoints.seal(delay=0)
    copy = insert_select_copy(ids[0])
    assert (
        verify_fails()
        == f"Audit log NOT intact: Event #{copy} was inserted: it is a copy of event #{ids[0]}."
    )


def test_copy_of_a_legacy_row_into_a_gap_below_the_boundary_is_not_sealed():
    ids = make_events(4)
    AuditEvent.objects.filter(pk=ids[2]).delete()  # a gap, as a rolled-back write leaves one
    legacy(ids)
    raw_copy(ids[0], ids[2])
    refused = []
    assert checkpoints.seal(delay=0, refused=refused) == 3
    assert refused == [f"Event #{ids[2]} was inserted: it is a copy of event #{ids[0]}."]
    assert verify_fails() == NOT_INTACT + NOT_LISTED.format(ids[2])


def test_altered_legacy_record_is_detected_and_stops_sealing(settings):
    settings.AUDIT_CHECKPOINT_DELAY = 0
    ids = make_events(3)
    legacy(ids)
    Checkpoint.objects.filter(kind="legacy").update(last_event_id=ids[-1] + 100)
    record = Checkpoint.objects.get(kind="legacy")
    assert verify_fails() == NOT_INTACT + LEGACY_ALTERED.format(record.pk)
    with pytest.raises(CommandError, match="legacy record"):
        call_command("seal_audit_log", stdout=StringIO(), stderr=StringIO())


def test_deleting_the_legacy_record_exposes_the_unbound_rows():
    ids = make_events(2)
    legacy(ids)
    Checkpoint.objects.filter(kind="legacy").delete()
    assert verify_fails() == NOT_INTACT + FORGED.format(ids[0])
