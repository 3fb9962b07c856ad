"""Device authorizations (RFC 8628) in the console: listed with their state, never their codes;
open ones revocable by an operator with the revoke permission, and the device then hears so."""

import pytest
from django.test import Client as HttpClient

from oauth_console.audit.models import AuditEvent, EventType
from server.models import DeviceAuthorization
from tests.server.device_helpers import DEVICE_GRANTS, poll, start

pytestmark = pytest.mark.django_db

URL = "/admin/server/deviceauthorization/"


@pytest.fixture
def tv(make_client):
    return make_client("Living-room TV", redirect_uris=[], grant_types=DEVICE_GRANTS)


def test_the_list_shows_waiting_devices_but_never_their_codes(ops, tv):
    body = start(HttpClient(), tv, scope="profile").json()
    page = ops.get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Living-room TV" in text and "Waiting for the user" in text
    assert body["device_code"][:12] in text
    assert body["device_code"] not in text and body["user_code"] not in text
    row = DeviceAuthorization.objects.get()
    assert row.device_code_digest not in text and row.user_code_digest not in text


def test_an_operator_revokes_an_open_device_and_its_polls_are_denied(ops, tv):
    http = HttpClient()
    body = start(http, tv).json()
    row = DeviceAuthorization.objects.get()
    asked = ops.post(URL, {"action": "revoke_selected", "_selected_action": [row.pk]})
    assert "1 device authorization will be revoked." in asked.content.decode()  # it asks first
    assert DeviceAuthorization.objects.get().status == "pending"
    selection = {"action": "revoke_selected", "_selected_action": [row.pk], "confirm": "yes"}
    answer = ops.post(URL, selection, follow=True)
    assert "1 device authorization revoked." in answer.content.decode()
    assert poll(http, tv, body["device_code"]).json()["error"] == "access_denied"
    event = AuditEvent.objects.get(event_type=EventType.DEVICE_AUTHORIZATIONS_REVOKED)
    assert event.detail["count"] == 1 and event.actor_label == "operator:olga"


def test_a_read_only_operator_cannot_revoke(readonly, tv):
    start(HttpClient(), tv)
    row = DeviceAuthorization.objects.get()
    assert readonly.get(URL).status_code == 200
    readonly.post(URL, {"action": "revoke_selected", "_selected_action": [row.pk]})
    assert DeviceAuthorization.objects.get().status == "pending"
