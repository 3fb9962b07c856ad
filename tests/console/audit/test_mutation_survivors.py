"""Tests written to kill the mutants `make mutation` found surviving in the audit chain and checkpoints.

The hashes here are known answers: computed once, outside the code under test, from the
construction oauth_console/audit/chain.py documents (HMAC-SHA256 under SHA-256("oauth-console audit
chain v1" NUL key), over key-sorted compact JSON). A mutant that changes a label, a separator, the
key or what a digest covers changes them. Survivors no test should kill: tests/mutation_survivors.txt.
"""

import time
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from oauth_console.audit import chain

KEY = "known-answer key"
# SHA-256(b"oauth-console audit chain v1\x00" + KEY)
KEY_BYTES = bytes.fromhex("a142ec2757893f650d9c981330b9e7978944b79271fe28f36dded429ddbcaa49")
FIELDS = {
    "occurred_at": datetime(2025, 1, 1, 11, 0, 0, 1, tzinfo=timezone(timedelta(hours=1))),
    "event_type": "client.authenticated",
    "outcome": "success",
    "actor_kind": "client",
    "actor_label": "Café",
    "client_id": "abc",
    "user_id": 7,
    "username": "alice",
    "token_id": None,
    "token_prefix": "",
    "ip_address": "10.0.0.1",
    "user_agent": "curl/8",
    "request_id": "",
    "detail": {"b": [1, "x"], "a": 2},
}
CANONICAL = (
    '{"actor_kind":"client","actor_label":"Caf\\u00e9","client_id":"abc","detail":{"a":2,"b":[1,"x"]},'
    '"event_type":"client.authenticated","ip_address":"10.0.0.1",'
    '"occurred_at":"2025-01-01T10:00:00.000001+00:00","outcome":"success","request_id":"","token_id":null,'
    '"token_prefix":"","user_agent":"curl/8","user_id":7,"username":"alice"}'
)
ENTRY_HASH = "270f9c11465054174ab0dea48ed56d0b9536f4cf52d0c26e8f4e17265b370bc3"


@pytest.fixture
def known_key(settings):
    settings.AUDIT_HASH_KEY = KEY
    settings.SECRET_KEY = "the secret key"


@pytest.fixture
def tokyo(monkeypatch):
    """The process's local time zone is not UTC (Django sets TZ from TIME_ZONE, here UTC)."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_key_is_the_configured_one_domain_separated(known_key, settings):
    """Kills chain.x_hash_key mutants (another setting's name, no default)."""
    assert chain.hash_key() == KEY_BYTES
    settings.AUDIT_HASH_KEY = ""
    assert chain.hash_key() == bytes.fromhex(
        "4ab91f9c190cbc7bcb110958d3cffc9df42f7000791823323a058a5dbffb7fbf"
    )  # SHA-256(b"oauth-console audit chain v1\x00the secret key")
    del settings.AUDIT_HASH_KEY  # a settings module without it: the same derived key
    assert chain.hash_key() == bytes.fromhex(
        "4ab91f9c190cbc7bcb110958d3cffc9df42f7000791823323a058a5dbffb7fbf"
    )


def test_times_are_written_in_utc_whatever_the_local_zone(tokyo):
    """Kills chain.x_iso_utc mutants (astimezone() to the local zone)."""
    local = datetime(2025, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert chain.iso_utc(local) == "2025-06-01T13:30:00.000000+00:00"


def test_canonical_content_known_answer(tokyo):
    """Kills chain.x_canonical_content mutants: key order, separators, ASCII escaping, the time."""
    assert chain.canonical_content(FIELDS) == CANONICAL


def test_entry_and_position_hash_known_answers(known_key):
    """Kills chain.x_entry_hash, x_event_hash and x_position_hash mutants (label, separators, id)."""
    assert chain.entry_hash(CANONICAL) == ENTRY_HASH

    class Event:
        pass

    event = Event()
    for name, value in FIELDS.items():
        setattr(event, name, value)
    assert chain.event_hash(event) == ENTRY_HASH
    assert chain.position_hash(42, ENTRY_HASH) == (
        "20be1b854503f3b46005c01c1d235b4b93491699aa1417fd41bfb1b13873a6c5"
    )  # HMAC(key, "audit event position v1" NUL "42" NUL entry hash)


def test_record_digests_known_answers(known_key):
    """Kills chain.x_legacy_digest, x_prune_digest and x_checkpoint_digest mutants (what each
    covers, in which form)."""
    assert chain.legacy_digest(last_event_id=17) == (
        "5f582d59f6ffae5b667bc66dc25b5d4cc06ac77e3cac8df607985cce0d4436e9"
    )  # HMAC(key, '{"kind":"legacy","last":17}')
    assert chain.prune_digest(prev_digest="p0", last_event_id=17, event_count=9) == (
        "930f960c6bcb88281b290f69e6f1d33a55154df04e0c21746f3f0ba0fb457f9f"
    )  # HMAC(key, '{"count":9,"kind":"prune","last":17,"prev":"p0"}')
    digest = chain.checkpoint_digest(
        prev_digest="p0",
        first_event_id=3,
        last_event_id=6,
        id_ranges=[[3, 4], [6, 6]],
        entry_hashes=["h3", "h4", "h6"],
    )
    # HMAC(key, '{"first":3,"ids":[[3,4],[6,6]],"last":6,"prev":"p0"}' + "\nh3\nh4\nh6")
    assert digest == "87d261937b09c018baf6739380d81abaf4508b99592141d97dfb75e702b373a3"


def test_plain_details_are_kept_as_they_are_and_others_become_json():
    """Kills chain.x__plain and x_normalise_detail mutants: which values count as plain JSON."""
    plain = {"n": 3, "ok": True, "none": None, "s": "x", "list": [1, "a", [2]], "nested": {"k": [True]}}
    assert chain.normalise_detail(plain) is plain
    when = datetime(2025, 1, 1, tzinfo=UTC)
    uuid = UUID("12345678-1234-5678-1234-567812345678")
    for value, stored in [
        (when, "2025-01-01 00:00:00+00:00"),
        (uuid, "12345678-1234-5678-1234-567812345678"),
        ((1, 2), [1, 2]),
        ([1, (2, 3)], [1, [2, 3]]),
        ({"inner": when}, {"inner": "2025-01-01 00:00:00+00:00"}),
        (1.5, 1.5),
    ]:
        detail = {"v": value}
        normalised = chain.normalise_detail(detail)
        assert normalised == {"v": stored}
        assert normalised is not detail, value
    assert chain.normalise_detail({3: "x"}) == {"3": "x"}  # a key that is not a string


def test_id_ranges_known_answers():
    """Kills chain.x_id_ranges_of mutants (the run boundaries)."""
    assert chain.id_ranges_of([]) == []
    assert chain.id_ranges_of([5]) == [[5, 5]]
    assert chain.id_ranges_of([1, 2, 3, 5, 7, 8]) == [[1, 3], [5, 5], [7, 8]]
    assert chain.id_ranges_of([1, 3]) == [[1, 1], [3, 3]]
