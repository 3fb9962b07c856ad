"""Every way `checkpoints.verify` can fail, each with its exact message.

test_tamper_evidence.py covers the common tampering; this module reaches the rest of verify's
branches: prune records, the checkpoint digest's own coverage (ids, hashes, count), seals closed
inside the walk and after the last event, and the structural checks that only rows without a
position hash (written before migration audit.0007) can reach, because any other inserted row is
named as a copy or a forgery first. `coverage run --branch` over this module and
test_tamper_evidence.py reaches every branch of `verify`.
"""

from datetime import timedelta

import pytest

from oauth_console.audit import chain, checkpoints, retention
from oauth_console.audit.models import AuditEvent, Checkpoint
from server.hotpath import ids
from tests.console.audit.test_tamper_evidence import (
    BETWEEN,
    CHAIN_BROKEN,
    CHECKPOINT_ALTERED,
    DELETED,
    DUPLICATE,
    NOT_INTACT,
    NOT_LISTED,
    PRUNE_ALTERED,
    PRUNED,
    legacy,
    make_events,
    raw_copy,
    verify,
    verify_fails,
)

pytestmark = pytest.mark.django_db(transaction=True)


def seal_of(event_id: int) -> Checkpoint:
    return Checkpoint.objects.get(kind="seal", first_event_id__lte=event_id, last_event_id__gte=event_id)


def burn_an_id() -> int:
    """An id no event will have (as a rolled-back write leaves one)."""
    ids.forget()  # the next event's id comes after it, not from ids taken ahead before it
    AuditEvent.objects.create(event_type="login_failed", entry_hash="x")
    gap = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    AuditEvent.objects.filter(pk=gap).delete()
    return gap


# --- the checkpoint digest covers the ids, the event hashes and the count ---------------------


def test_altered_checkpoint_digest_is_named_while_later_events_follow():
    ids = make_events(3)
    checkpoints.seal(delay=0)
    make_events(2)
    checkpoints.seal(delay=0)
    first = seal_of(ids[0])
    Checkpoint.objects.filter(pk=first.pk).update(digest="0" * 64)
    assert verify_fails() == NOT_INTACT + CHECKPOINT_ALTERED.format(first.pk, ids[0], ids[2])


def test_altered_checkpoint_digest_is_named_at_the_end_of_the_log():
    ids = make_events(3)
    checkpoints.seal(delay=0)
    seal = Checkpoint.objects.get()
    Checkpoint.objects.filter(pk=seal.pk).update(digest="f" * 64)
    assert verify_fails() == NOT_INTACT + CHECKPOINT_ALTERED.format(seal.pk, ids[0], ids[2])


def test_altered_checkpoint_count_is_named():
    ids = make_events(3)
    checkpoints.seal(delay=0)
    Checkpoint.objects.update(event_count=4)
    seal = Checkpoint.objects.get()
    assert verify_fails() == NOT_INTACT + CHECKPOINT_ALTERED.format(seal.pk, ids[0], ids[2])


def test_deleting_an_event_and_hiding_it_from_its_checkpoint_is_named():
    """The digest covers the id list: rewriting it (and the count) to leave a deleted event
    out does not verify."""
    ids = make_events(4)
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk=ids[1]).delete()
    Checkpoint.objects.update(event_count=3, id_ranges=chain.id_ranges_of([ids[0], ids[2], ids[3]]))
    seal = Checkpoint.objects.get()
    assert verify_fails() == NOT_INTACT + CHECKPOINT_ALTERED.format(seal.pk, ids[0], ids[3])


def test_swapping_two_legacy_rows_is_named():
    """Rows without a position hash are bound to their ids by the checkpoint alone: the digest
    covers the event hashes in id order, so two rows that trade places do not verify."""
    ids = make_events(3)
    legacy(ids)
    checkpoints.seal(delay=0)
    fields = [*chain.HASHED_FIELDS, "entry_hash", "position_hash"]
    first, second = (AuditEvent.objects.values(*fields).get(pk=pk) for pk in ids[:2])
    AuditEvent.objects.filter(pk=ids[0]).update(**second)
    AuditEvent.objects.filter(pk=ids[1]).update(**first)
    seal = Checkpoint.objects.get(kind="seal")
    assert verify_fails() == NOT_INTACT + CHECKPOINT_ALTERED.format(seal.pk, ids[0], ids[2])


# --- deletions found when a checkpoint is closed ------------------------------------------------


def test_deleting_the_last_event_of_a_checkpoint_is_named_when_the_next_begins():
    ids = make_events(3)
    checkpoints.seal(delay=0)
    make_events(2)
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk=ids[2]).delete()
    assert verify_fails() == NOT_INTACT + DELETED.format(ids[2])


def test_deleting_every_event_of_the_newest_checkpoint_is_named():
    make_events(2)
    checkpoints.seal(delay=0)
    ids = make_events(2)
    checkpoints.seal(delay=0)
    AuditEvent.objects.filter(pk__in=ids[2:]).delete()
    assert verify_fails() == NOT_INTACT + DELETED.format(ids[2])


def test_deleting_every_event_and_the_first_checkpoint_breaks_the_chain():
    make_events(2)
    checkpoints.seal(delay=0)
    ids = make_events(2)
    checkpoints.seal(delay=0)
    AuditEvent.objects.all().delete()
    Checkpoint.objects.filter(last_event_id=ids[1]).delete()
    assert verify_fails() == NOT_INTACT + CHAIN_BROKEN.format(ids[2])


# --- prune records --------------------------------------------------------------------------------


def pruned_log() -> tuple[list[int], int]:
    """Three events pruned (ten days old), two kept; returns (the ids, the prune boundary)."""
    make_events(3, days_ago=10)
    checkpoints.seal(delay=0)
    ids = make_events(2)
    result = retention.prune(older_than=timedelta(days=5))
    assert result.deleted == 3
    return ids, result.through_event_id


def test_a_pruned_log_verifies():
    pruned_log()
    assert "intact: 2 events checked, 0 under checkpoints, 2 not yet sealed" in verify()


def test_altered_prune_record_is_named():
    pruned_log()
    Checkpoint.objects.filter(kind="prune").update(event_count=2)
    record = Checkpoint.objects.get(kind="prune")
    assert verify_fails() == NOT_INTACT + PRUNE_ALTERED.format(record.pk)


def test_insert_into_the_pruned_range_is_named():
    ids, boundary = pruned_log()
    raw_copy(ids[3], ids[0])
    assert verify_fails() == NOT_INTACT + PRUNED.format(ids[0], boundary)


# --- rows without a position hash: only the checkpoints place them ------------------------------


def test_legacy_row_copied_into_a_sealed_gap_is_named():
    ids = make_events(4)
    AuditEvent.objects.filter(pk=ids[2]).delete()
    legacy(ids)
    checkpoints.seal(delay=0)
    raw_copy(ids[0], ids[2])
    assert verify_fails() == NOT_INTACT + NOT_LISTED.format(ids[2])


def test_legacy_row_copied_between_two_checkpoints_is_named():
    first = make_events(2)
    gap = burn_an_id()
    ids = make_events(2)
    legacy(ids)
    checkpoints.seal(delay=0, through_event_id=first[-1])
    checkpoints.seal(delay=0)
    assert Checkpoint.objects.filter(kind="seal").count() == 2
    raw_copy(first[0], gap)
    assert verify_fails() == NOT_INTACT + BETWEEN.format(gap)


def test_legacy_row_copied_into_the_unsealed_tail_is_named_as_a_duplicate():
    ids = make_events(4)
    AuditEvent.objects.filter(pk=ids[2]).delete()
    legacy(ids)
    raw_copy(ids[0], ids[2])
    assert verify_fails() == NOT_INTACT + DUPLICATE.format(ids[2])
