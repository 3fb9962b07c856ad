"""The content hash, canonical form and request context of events."""

import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from django.test import RequestFactory

from oauth_console.audit import chain, recorder
from oauth_console.audit.context import client_ip, request_id_from
from oauth_console.audit.models import AuditEvent, EventType

pytestmark = pytest.mark.django_db(transaction=True)


def test_recorded_event_hash_survives_the_database_round_trip(settings):
    settings.AUDIT_HASH_KEY = "test_chain key"
    request = RequestFactory().get(
        "/x", REMOTE_ADDR="::ffff:10.0.0.1", HTTP_USER_AGENT="curl/8", HTTP_X_REQUEST_ID="req-1"
    )
    recorder.record(
        EventType.CLIENT_AUTHENTICATED,
        client_id="abc",
        request=request,
        detail={"method": "client_secret_basic", "n": 3, "when": datetime(2025, 1, 1, tzinfo=UTC)},
        at=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )
    event = AuditEvent.objects.get()
    # A known answer, by hand from docs/audit.md, not the code checked against itself.
    canonical = (
        '{"actor_kind":"system","actor_label":"","client_id":"abc",'
        '"detail":{"method":"client_secret_basic","n":3,"when":"2025-01-01 00:00:00+00:00"},'
        '"event_type":"client_authenticated","ip_address":"::ffff:10.0.0.1",'
        '"occurred_at":"2025-01-02T03:04:05.678901+00:00","outcome":"success","request_id":"req-1",'
        '"token_id":null,"token_prefix":"","user_agent":"curl/8","user_id":null,"username":""}'
    )
    key = hashlib.sha256(b"oauth-console audit chain v1\x00test_chain key").digest()
    expected = "ccbaac6a57b23c27d67b1b4cae40c3e5a9b194f96d603fa802773f73117cfdaf"
    assert hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest() == expected
    assert event.entry_hash == expected  # hashed in the request, before the INSERT
    assert chain.event_hash(event) == expected  # recomputed from the row read back
    position = f"audit event position v1\x00{event.pk}\x00{expected}"
    assert event.position_hash == hmac.new(key, position.encode(), hashlib.sha256).hexdigest()
    assert event.ip_address == "::ffff:10.0.0.1"
    assert event.user_agent == "curl/8"
    assert event.detail == {"method": "client_secret_basic", "n": 3, "when": "2025-01-01 00:00:00+00:00"}


def test_hash_changes_with_any_field_and_with_the_key(settings):
    recorder.record(EventType.LOGIN_FAILED, username="mallory")
    event = AuditEvent.objects.get()
    original = chain.event_hash(event)
    event.username = "alice"
    assert chain.event_hash(event) != original
    event.username = "mallory"
    settings.AUDIT_HASH_KEY = "another key"
    assert chain.event_hash(event) != original


def test_canonical_content_is_sorted_and_in_utc():
    fields = {name: "" for name in chain.HASHED_FIELDS}
    fields.update(occurred_at=datetime(2025, 1, 1, 12, tzinfo=UTC), detail={"b": 1, "a": 2}, user_id=None)
    text = chain.canonical_content(fields)
    assert text.index('"actor_kind"') < text.index('"detail"') < text.index('"user_id"')
    assert '"occurred_at":"2025-01-01T12:00:00.000000+00:00"' in text
    assert '{"a":2,"b":1}' in text


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("abc-123", True),
        ("3f2a1c9e-aaaa-bbbb-cccc-123456789012", True),
        ("bad id", False),
        ("x" * 65, False),
        ("evil\r\nSet-Cookie: a=b", False),
        ("", False),
    ],
)
def test_request_id_is_kept_only_when_sane(header, kept):
    value = request_id_from(header)
    assert (value == header) is kept
    assert value


def test_client_ip_trusts_forwarded_for_only_behind_configured_proxies(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    assert client_ip(request) == "10.0.0.9"
    settings.AUDIT_PROXY_COUNT = 1
    assert client_ip(request) == "198.51.100.7"
    settings.AUDIT_PROXY_COUNT = 2
    assert client_ip(request) == "1.2.3.4"
