"""What `checkpoints.verify` returns, beyond the message verify_audit_log prints: the problem's
kind ("altered", "inserted", "deleted", "checkpoint") and the event it names, and how many events
were checked and found under checkpoints when it stopped. A caller other than the command (a
dashboard, an alert) acts on these fields; the message tests (test_tamper_evidence.py,
test_verify_branches.py) read only the words.

Also: a forged row is not said to copy an unrelated event that happens to share its second.
"""

import pytest
from django.utils import timezone

from oauth_console.audit import checkpoints
from oauth_console.audit.models import AuditEvent, Checkpoint
from tests.console.audit.test_tamper_evidence import (
    COPY,
    FORGED,
    insert_select_copy,
    legacy,
    make_events,
    raw_copy,
)
from tests.console.audit.test_verify_branches import burn_an_id, pruned_log

pytestmark = pytest.mark.django_db(transaction=True)


def problem_of() -> tuple[str, int | None]:
    report = checkpoints.verify()
    assert not report.intact
    return report.problem.kind, report.problem.event_id


def test_an_intact_report_counts_what_it_checked_and_sealed():
    make_events(3)
    checkpoints.seal(delay=0)
    make_events(1)
    report = checkpoints.verify()
    assert (report.intact, report.problem, report.checked, report.sealed) == (True, None, 4, 3)


def test_an_altered_event():
    ids = make_events(3)
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk=ids[1]).update(username="someone-else")
    report = checkpoints.verify()
    assert (report.problem.kind, report.problem.event_id) == ("altered", ids[1])
    # It stopped at the altered event: the first was checked and counted under its checkpoint.
    assert (report.checked, report.sealed) == (2, 1)


def test_a_deleted_event():
    ids = make_events(4)
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk=ids[1]).delete()
    assert problem_of() == ("deleted", ids[1])


def test_the_deleted_tail_of_a_checkpoint():
    ids = make_events(4)
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk__in=ids[2:]).delete()
    assert problem_of() == ("deleted", ids[2])


def test_a_copy_is_inserted():
    ids = make_events(3)
    copy = insert_select_copy(ids[0])
    assert problem_of() == ("inserted", copy)


def test_a_copy_of_a_deleted_event_is_inserted():
    ids = make_events(3)
    copy = insert_select_copy(ids[2])
    AuditEvent.objects.filter(pk=ids[2]).delete()
    assert problem_of() == ("inserted", copy)


def test_a_row_the_checkpoint_does_not_list():
    ids = make_events(4)
    AuditEvent.objects.filter(pk=ids[2]).delete()
    legacy(ids)
    checkpoints.seal(delay=0)
    raw_copy(ids[0], ids[2])
    assert problem_of() == ("inserted", ids[2])


def test_a_row_between_two_checkpoints():
    first = make_events(2)
    gap = burn_an_id()
    ids = make_events(2)
    legacy(ids)
    checkpoints.seal(delay=0, through_event_id=first[-1])
    checkpoints.seal(delay=0)
    raw_copy(first[0], gap)
    assert problem_of() == ("inserted", gap)


def test_a_duplicate_in_the_unsealed_tail():
    ids = make_events(4)
    AuditEvent.objects.filter(pk=ids[2]).delete()
    legacy(ids)
    raw_copy(ids[0], ids[2])
    assert problem_of() == ("inserted", ids[2])


def test_a_row_in_the_pruned_range():
    ids, _boundary = pruned_log()
    raw_copy(ids[3], ids[0])
    report = checkpoints.verify()
    assert (report.problem.kind, report.problem.event_id) == ("inserted", ids[0])
    assert (report.checked, report.sealed) == (1, 0)  # the first row read


def test_a_broken_chain_names_the_first_event_after_the_break():
    make_events(2)
    checkpoints.seal(delay=0)
    ids = make_events(2)
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk__in=ids[:2]).delete()
    Checkpoint.objects.filter(last_event_id=ids[1]).delete()
    assert problem_of() == ("deleted", ids[2])


def test_an_altered_checkpoint_names_its_first_event():
    ids = make_events(3)
    checkpoints.seal(delay=0)
    Checkpoint.objects.update(digest="0" * 64)
    assert problem_of() == ("checkpoint", ids[0])


def test_an_altered_prune_record_is_a_checkpoint_problem_of_no_event():
    pruned_log()
    Checkpoint.objects.filter(kind="prune").update(event_count=2)
    report = checkpoints.verify()
    assert (report.problem.kind, report.problem.event_id) == ("checkpoint", None)
    assert (report.checked, report.sealed) == (0, 0)


def test_an_altered_legacy_record_is_a_checkpoint_problem_of_no_event():
    ids = make_events(2)
    legacy(ids)
    Checkpoint.objects.filter(kind="legacy").update(last_event_id=ids[-1] + 1)
    report = checkpoints.verify()
    assert (report.problem.kind, report.problem.event_id) == ("checkpoint", None)
    assert (report.checked, report.sealed) == (0, 0)


def test_a_forged_row_is_not_called_a_copy_of_another_event_of_the_same_time():
    """copy_source looks for the same time *and* the same hash: a row without a position hash
    (legacy) recorded at the same instant is not the source of a forgery."""
    ids = make_events(2)
    at = timezone.now()
    AuditEvent.objects.filter(pk__in=ids).update(occurred_at=at)
    AuditEvent.objects.filter(pk=ids[0]).update(position_hash="")  # legacy-shaped
    forged = AuditEvent.objects.get(pk=ids[1])
    assert checkpoints.copy_source(forged) is None
    assert checkpoints.misplaced_message(forged) == FORGED.format(ids[1])


@pytest.mark.parametrize("position_hash", ["", "0" * 64])
def test_a_copy_whose_position_hash_was_blanked_or_forged_still_names_its_source(position_hash):
    """The copy's own position hash is no help then: its source is found as the row of the same
    time and hash whose position hash is bound to its own id."""
    ids = make_events(3)
    copy = insert_select_copy(ids[1])
    AuditEvent.objects.filter(pk=copy).update(position_hash=position_hash)
    report = checkpoints.verify()
    assert (report.problem.kind, report.problem.event_id) == ("inserted", copy)
    assert report.problem.message == COPY.format(copy, ids[1])
