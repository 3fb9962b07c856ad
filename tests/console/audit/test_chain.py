"""The content hash, canonical form and request context of events."""

from datetime import UTC, datetime

import pytest
from django.test import RequestFactory

from oauth_console.audit import chain, recorder
from oauth_console.audit.context import client_ip, request_id_from
from oauth_console.audit.models import AuditEvent, EventType

pytestmark = pytest.mark.django_db(transaction=True)


def test_recorded_event_hash_survives_the_database_round_trip():
    request = RequestFactory().get("/x", REMOTE_ADDR="::ffff:10.0.0.1", HTTP_USER_AGENT="curl/8")
    recorder.record(
        EventType.CLIENT_AUTHENTICATED,
        client_id="abc",
        request=request,
        detail={"method": "client_secret_basic", "n": 3, "when": datetime(2025, 1, 1, tzinfo=UTC)},
    )
    event = AuditEvent.objects.get()
    assert event.entry_hash == chain.event_hash(event)
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
