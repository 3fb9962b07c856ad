"""Known answers for the audit log's hashes: content, position, checkpoint, prune and legacy.

Events with fixed content, times and ids go through the production write path (recorder →
insert → seal → prune); every stored hash must equal both a value recomputed here by hand from
the construction in docs/audit.md ("The exact construction", under "Tamper evidence"; with
hashlib and hmac only) and a hex literal computed once. A change to any construction (a field,
the JSON form, the key derivation, a separator, what a checkpoint covers) fails here, where a
test that compares `entry_hash` with `chain.event_hash(event)` checks the code against itself.
"""

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.test import RequestFactory
from django.utils import timezone as django_timezone

from oauth_console.audit import chain, checkpoints, recorder, retention
from oauth_console.audit.models import AuditEvent, Checkpoint
from server import credentials

# reset_sequences: the ids are part of what is hashed, so they must be 1, 2, 3… on any database.
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

AUDIT_KEY = "known-answer audit key"
SECRET_KEY = "known-answer secret key, long enough for Django's checks 0123456789"


def key_by_hand(material: str) -> bytes:
    return hashlib.sha256(b"oauth-console audit chain v1\x00" + material.encode("utf-8")).digest()


KEY = key_by_hand(AUDIT_KEY)


def mac(message: str, key: bytes = KEY) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def compact(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def position_by_hand(event_id: int, entry_hash: str) -> str:
    return mac(f"audit event position v1\x00{event_id}\x00{entry_hash}")


def checkpoint_by_hand(prev: str, first: int, last: int, ids: list, hashes: list[str]) -> str:
    header = compact({"prev": prev, "first": first, "last": last, "ids": ids})
    return mac(header + "".join("\n" + value for value in hashes))


@pytest.fixture(autouse=True)
def fixed_keys(settings):
    settings.AUDIT_HASH_KEY = AUDIT_KEY
    settings.SECRET_KEY = SECRET_KEY
    settings.AUDIT_CHECKPOINT_EVERY = 0  # seal only when the test says so
    return settings


# --- the vectors -------------------------------------------------------------------------------

# Event 1: a token issued in a request, its time given in UTC+2.
EVENT_1 = {
    "event_type": "token_issued",
    "actor_kind": "client",
    "actor_label": "client:abc",
    "client_id": "abc",
    "user_id": 7,
    "username": "alice",
    "token_id": 17,
    "token_prefix": "oat_3fQ9abcd",
    "detail": {"scope": "read", "grant_type": "client_credentials"},
    "at": datetime(2024, 3, 10, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
}
REQUEST_1 = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "billing/2.1", "HTTP_X_REQUEST_ID": "req-42"}
CANONICAL_1 = (
    '{"actor_kind":"client","actor_label":"client:abc","client_id":"abc",'
    '"detail":{"grant_type":"client_credentials","scope":"read"},"event_type":"token_issued",'
    '"ip_address":"203.0.113.9","occurred_at":"2024-03-10T12:00:00.123456+00:00","outcome":"success",'
    '"request_id":"req-42","token_id":17,"token_prefix":"oat_3fQ9abcd","user_agent":"billing/2.1",'
    '"user_id":7,"username":"alice"}'
)
HASH_1 = "677621d25d490a3060708645aaa53a5690e522564428c47dab63ab8db8c372e2"
POSITION_1 = "12ae910c67c06a6979d6c1495903d1f3c5f1373e9e39f0ae88fb2a19be005b4a"

# Event 2: outside a request (no address, agent or request id); a non-ASCII name; a detail with
# a list, a null and a datetime (stored as its str()).
EVENT_2 = {
    "event_type": "login_failed",
    "outcome": "failure",
    "actor_kind": "anonymous",
    "username": "zoë",
    "detail": {
        "reason": "bad password",
        "attempt": 3,
        "flags": [True, None],
        "when": datetime(2024, 3, 10, 12, 0, 1, tzinfo=UTC),
    },
    "at": datetime(2024, 3, 10, 12, 0, 1, tzinfo=UTC),
}
CANONICAL_2 = (
    '{"actor_kind":"anonymous","actor_label":"","client_id":"",'
    '"detail":{"attempt":3,"flags":[true,null],"reason":"bad password","when":"2024-03-10 12:00:01+00:00"},'
    '"event_type":"login_failed","ip_address":null,"occurred_at":"2024-03-10T12:00:01.000000+00:00",'
    '"outcome":"failure","request_id":"","token_id":null,"token_prefix":"","user_agent":"",'
    '"user_id":null,"username":"zo\\u00eb"}'
)
HASH_2 = "ae8249946abe5f906b951de18aa86c3c9bea77cca51a2315f30e95bf61fed209"
POSITION_2 = "420f49d4d5237281329a5ec44c6a743c59af5e91748c441b4e3f7d361a7c89bb"

# Event 3: an IPv6 address (stored compressed, lower case) and a quote in the user agent.
EVENT_3 = {
    "event_type": "consent_granted",
    "actor_kind": "user",
    "actor_label": "user:alice",
    "client_id": "abc",
    "user_id": 7,
    "username": "alice",
    "detail": {"scope": "profile email"},
    "at": datetime(2024, 3, 10, 12, 0, 2, 500000, tzinfo=UTC),
}
REQUEST_3 = {
    "REMOTE_ADDR": "2001:DB8::0001",
    "HTTP_USER_AGENT": 'Mozilla/5.0 "quoted"',
    "HTTP_X_REQUEST_ID": "3f2a1c9e",
}
CANONICAL_3 = (
    '{"actor_kind":"user","actor_label":"user:alice","client_id":"abc","detail":{"scope":"profile email"},'
    '"event_type":"consent_granted","ip_address":"2001:db8::1","occurred_at":"2024-03-10T12:00:02.500000+00:00",'
    '"outcome":"success","request_id":"3f2a1c9e","token_id":null,"token_prefix":"",'
    '"user_agent":"Mozilla/5.0 \\"quoted\\"","user_id":7,"username":"alice"}'
)
HASH_3 = "e72d084157de2ef2cc9c00cc3f988d22d43a145512002528f1c451c1f3bf152e"
POSITION_3 = "12a117fa81aa1fb4a9ee248be9c021e8c83a9c8b73a22cc14139d3bf034679b6"

# The seal over events 1-3, the first link of the chain (no previous digest).
SEAL_A_HEADER = '{"first":1,"ids":[[1,3]],"last":3,"prev":""}'
SEAL_A = "a53ee5616b28d3328d88105774e938bded6c9998d087da1aa776c27ae1ed6eff"


# Events 4-6, a year later: 5 is lost (a rolled-back write leaves such a gap), so the next seal
# lists ids 4 and 6 as two runs.
def later_event(number: int) -> dict:
    return {
        "event_type": "login_failed",
        "outcome": "failure",
        "actor_kind": "anonymous",
        "username": f"user{number}",
        "detail": {"n": number},
        "at": datetime(2025, 3, 10, 12, 0, number, tzinfo=UTC),
    }


def canonical_of_later(number: int) -> str:
    return (
        '{"actor_kind":"anonymous","actor_label":"","client_id":"",'
        f'"detail":{{"n":{number}}},"event_type":"login_failed","ip_address":null,'
        f'"occurred_at":"2025-03-10T12:00:{number:02d}.000000+00:00","outcome":"failure","request_id":"",'
        f'"token_id":null,"token_prefix":"","user_agent":"","user_id":null,"username":"user{number}"}}'
    )


HASH_4 = "5bb09deb7914a40fe6f268a08734e6b1258926b0b25313eca705ad6a0cc4ab02"
HASH_6 = "6f466038720bbbd4831429bc65463edbfe66a7bc10d5984c15a9d251fe171e52"
POSITION_4 = "8f98ae60f72d8fb9091bf0324a8dbe43cea1eb7fd079e57c0515095ce2ac54e5"
POSITION_6 = "9994b79a993b69d6f18a1d4c0ec1c90443c07f386900a429e2b5a6e73dde14eb"
SEAL_B_HEADER = '{"first":4,"ids":[[4,4],[6,6]],"last":6,"prev":"' + SEAL_A + '"}'
SEAL_B = "b6d776a95c59652d2b87299734cc9cda3557055e9e2e8b7c94441ed873bac630"

# The prune record after events 1-3 (seal A) are deleted.
PRUNE_PAYLOAD = '{"count":3,"kind":"prune","last":3,"prev":"' + SEAL_A + '"}'
PRUNE = "a1877606ce8c3fa82eedc9e8098e36eeda04da9701f8ec65239c85601325e598"

LEGACY_PAYLOAD = '{"kind":"legacy","last":3}'
LEGACY = "988646daa4ade3b69b10784c88117d81f8cb3b83e50d9cec6874b3f8bec7c58d"


def record(fields: dict, meta: dict | None = None) -> None:
    request = RequestFactory().get("/oauth/token", **meta) if meta else None
    recorder.record(request=request, **fields)


# --- the hand computation against the literals (no production code) ---------------------------


def test_the_hand_computation_gives_the_literals():
    assert compact(json.loads(CANONICAL_1)) == CANONICAL_1
    assert compact(json.loads(CANONICAL_2)) == CANONICAL_2
    assert compact(json.loads(CANONICAL_3)) == CANONICAL_3
    assert [mac(CANONICAL_1), mac(CANONICAL_2), mac(CANONICAL_3)] == [HASH_1, HASH_2, HASH_3]
    assert [mac(canonical_of_later(4)), mac(canonical_of_later(6))] == [HASH_4, HASH_6]
    assert [position_by_hand(1, HASH_1), position_by_hand(2, HASH_2), position_by_hand(3, HASH_3)] == [
        POSITION_1,
        POSITION_2,
        POSITION_3,
    ]
    assert [position_by_hand(4, HASH_4), position_by_hand(6, HASH_6)] == [POSITION_4, POSITION_6]
    assert checkpoint_by_hand("", 1, 3, [[1, 3]], [HASH_1, HASH_2, HASH_3]) == SEAL_A
    assert mac(SEAL_A_HEADER + f"\n{HASH_1}\n{HASH_2}\n{HASH_3}") == SEAL_A
    assert checkpoint_by_hand(SEAL_A, 4, 6, [[4, 4], [6, 6]], [HASH_4, HASH_6]) == SEAL_B
    assert mac(SEAL_B_HEADER + f"\n{HASH_4}\n{HASH_6}") == SEAL_B
    assert mac(PRUNE_PAYLOAD) == PRUNE
    assert mac(LEGACY_PAYLOAD) == LEGACY


# --- the production code against the literals ---------------------------------------------------


def test_chain_functions_give_the_literals():
    assert chain.hash_key() == KEY
    assert chain.entry_hash(CANONICAL_1) == HASH_1
    assert chain.position_hash(1, HASH_1) == POSITION_1
    assert chain.position_hash(6, HASH_6) == POSITION_6
    assert (
        chain.checkpoint_digest(
            prev_digest="",
            first_event_id=1,
            last_event_id=3,
            id_ranges=[[1, 3]],
            entry_hashes=[HASH_1, HASH_2, HASH_3],
        )
        == SEAL_A
    )
    assert (
        chain.checkpoint_digest(
            prev_digest=SEAL_A,
            first_event_id=4,
            last_event_id=6,
            id_ranges=[[4, 4], [6, 6]],
            entry_hashes=[HASH_4, HASH_6],
        )
        == SEAL_B
    )
    assert chain.prune_digest(prev_digest=SEAL_A, last_event_id=3, event_count=3) == PRUNE
    assert chain.legacy_digest(last_event_id=3) == LEGACY


def test_the_write_path_stores_the_known_hashes_and_seals_the_known_checkpoints(caplog):
    caplog.set_level(logging.INFO, logger="oauth_console.audit")
    record(EVENT_1, REQUEST_1)
    record(EVENT_2)
    record(EVENT_3, REQUEST_3)
    stored = list(AuditEvent.objects.order_by("pk").values_list("pk", "entry_hash", "position_hash"))
    assert stored == [(1, HASH_1, POSITION_1), (2, HASH_2, POSITION_2), (3, HASH_3, POSITION_3)]
    # Read back from the database, the content still gives the same canonical form and hash.
    events = list(AuditEvent.objects.order_by("pk"))
    assert [chain.canonical_content(e.__dict__) for e in events] == [CANONICAL_1, CANONICAL_2, CANONICAL_3]
    # The SIEM line carries exactly the hashed content, so the SIEM can recompute the hash.
    siem = [r.getMessage() for r in caplog.records if r.getMessage().startswith('{"audit_event":')]
    assert siem[0] == '{"audit_event":' + CANONICAL_1 + ',"entry_hash":"' + HASH_1 + '"}'

    assert checkpoints.seal(delay=0) == 3
    seal_a = Checkpoint.objects.get(kind="seal")
    assert (seal_a.first_event_id, seal_a.last_event_id, seal_a.event_count) == (1, 3, 3)
    assert (seal_a.id_ranges, seal_a.prev_digest, seal_a.digest) == ([[1, 3]], "", SEAL_A)

    for number in (4, 5, 6):
        record(later_event(number))
    AuditEvent.objects.filter(pk=5).delete()
    assert list(
        AuditEvent.objects.filter(pk__gt=3).order_by("pk").values_list("pk", "entry_hash", "position_hash")
    ) == [
        (4, HASH_4, POSITION_4),
        (6, HASH_6, POSITION_6),
    ]
    assert checkpoints.seal(delay=0) == 2
    seal_b = Checkpoint.objects.get(kind="seal", first_event_id=4)
    assert (seal_b.last_event_id, seal_b.event_count, seal_b.id_ranges) == (6, 2, [[4, 4], [6, 6]])
    assert (seal_b.prev_digest, seal_b.digest) == (SEAL_A, SEAL_B)
    assert checkpoints.verify().problem is None

    # Prune everything before 2025: events 1-3 and seal A go, a prune record takes their place.
    cutoff = django_timezone.now() - datetime(2025, 1, 1, tzinfo=UTC)
    assert retention.prune(older_than=cutoff).deleted == 3
    prune = Checkpoint.objects.get(kind="prune")
    assert (prune.first_event_id, prune.last_event_id, prune.event_count) == (1, 3, 3)
    assert (prune.prev_digest, prune.digest) == (SEAL_A, PRUNE)
    report = checkpoints.verify()
    assert (report.problem, report.checked, report.sealed) == (None, 2, 2)


def test_the_legacy_record_has_the_known_digest():
    assert chain.legacy_digest(last_event_id=3) == LEGACY
    assert chain.legacy_digest(last_event_id=4) != LEGACY


def test_without_an_audit_key_the_key_comes_from_secret_key(fixed_keys):
    fixed_keys.AUDIT_HASH_KEY = ""
    expected = "80cbcf784590c82ec9d730af11ec8c686e4d7a389b88c5395dfa9bbab510b3a5"
    assert mac(CANONICAL_1, key_by_hand(SECRET_KEY)) == expected
    assert chain.entry_hash(CANONICAL_1) == expected
    # Neither the AUDIT_HASH_KEY digest nor an HMAC keyed with SECRET_KEY as it stands.
    assert expected not in {HASH_1, mac(CANONICAL_1, SECRET_KEY.encode())}
    record(EVENT_1, REQUEST_1)
    assert AuditEvent.objects.get().entry_hash == expected


def test_the_audit_key_is_not_the_credential_key(fixed_keys):
    # Same material, different domain separators: a credential digest is never an audit hash.
    fixed_keys.OAUTH2_CREDENTIAL_KEY = AUDIT_KEY
    assert credentials.digest(CANONICAL_1) != HASH_1
