"""`checkpoints.seal` past refused rows, and the copy of each link it logs for the SIEM."""

import json
import logging

import pytest

from oauth_console.audit import checkpoints
from oauth_console.audit.models import Checkpoint
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
