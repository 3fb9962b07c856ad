"""`checkpoints.seal` past refused rows, and the copy of each link it logs for the SIEM."""

import json
import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauth_console.audit import checkpoints, recorder
from oauth_console.audit.models import AuditEvent, Checkpoint, EventType
from server.hotpath import ids
from tests.console.audit.test_tamper_evidence import insert_select_copy, make_events

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_whole_batch_of_refused_rows_does_not_stop_the_seal():
    """Two events, two copies (never sealed), two more events, sealed two at a time: the batch
    of copies is passed over and the events after it are sealed in the same run."""
    first = make_events(2)
    copies = [insert_select_copy(first[0]), insert_select_copy(first[1])]
    # The copies took their ids from the sequence itself; ids this process reserved before them
    # (server.hotpath.ids, PostgreSQL) would put the later events before them in id order.
    ids.forget()
    later = make_events(2)[-2:]
    refused = []
    assert checkpoints.seal(delay=0, batch=2, refused=refused) == 4
    assert len(refused) == 2 and all("is a copy of event" in message for message in refused)
    seals = Checkpoint.objects.filter(kind="seal").order_by("last_event_id")
    sealed = [list(ends) for ends in seals.values_list("first_event_id", "last_event_id")]
    assert sealed == [first, later]
    assert copies[0] > first[-1] and copies[-1] < later[0]


def test_each_link_is_logged_with_the_digest_it_chains_to(caplog):
    """The SIEM's copy of the chain: each checkpoint's range, count, digest and previous digest,
    so that a person who rewrites the tables cannot rewrite the copy too."""
    caplog.set_level(logging.INFO, logger="oauth_console.audit")
    make_events(3)
    checkpoints.seal(delay=0, batch=2)
    links = [
        json.loads(r.getMessage())["audit_checkpoint"]
        for r in caplog.records
        if r.getMessage().startswith('{"audit_checkpoint":')
    ]
    stored = list(Checkpoint.objects.filter(kind="seal").order_by("last_event_id"))
    assert links == [
        {
            "first": seal.first_event_id,
            "last": seal.last_event_id,
            "count": seal.event_count,
            "digest": seal.digest,
            "prev": seal.prev_digest,
        }
        for seal in stored
    ]
    assert links[0]["prev"] == "" and links[1]["prev"] == links[0]["digest"]


def test_the_seal_reads_only_the_settled_rows():
    """Under load most rows past the last seal are still inside AUDIT_CHECKPOINT_DELAY: the seal
    finds the first of them in SQL and fetches only the rows before it, not a batch of rows it
    will not seal (issue: 10,000 rows materialised, a seal of ~920M instructions)."""
    settled = make_events(50, days_ago=1)
    unsettled = [i for i in make_events(500) if i not in settled]
    with CaptureQueriesContext(connection) as queries:
        assert checkpoints.seal() == 50
    fetches = [query["sql"] for query in queries if "entry_hash" in query["sql"] and "SELECT" in query["sql"]]
    assert len(fetches) == 1
    # Bounded below the first unsettled row: none of the 500 is read.
    assert f"< {unsettled[0]}" in fetches[0], fetches[0]
    [seal] = Checkpoint.objects.filter(kind="seal")
    assert (seal.first_event_id, seal.last_event_id, seal.event_count) == (settled[0], settled[-1], 50)


def test_a_row_that_committed_late_stops_the_seal_there():
    """Ids are taken before the write commits: an event with a lower id and a newer time (its
    transaction committed late) stops the seal at it, though older events follow it in id order;
    else a row written later with an id below the seal's end would be left out of the chain."""
    old = timezone.now() - timedelta(days=1)
    for at in (old, timezone.now(), old):
        recorder.record(EventType.LOGIN_FAILED, username="late", at=at)
    first, late, after = AuditEvent.objects.order_by("id").values_list("id", flat=True)
    assert checkpoints.seal() == 1
    assert list(Checkpoint.objects.values_list("first_event_id", "last_event_id")) == [(first, first)]
    assert checkpoints.seal(now=timezone.now() + timedelta(minutes=2)) == 2
    assert Checkpoint.objects.order_by("-last_event_id").first().last_event_id == after > late
