"""An approved portal app cannot rename itself or move its redirects without an operator seeing it.

The review found an approved app renamed "Totally Google" with new redirect URIs, live at once. Now a
change to what an end user judges an app by (name, redirect URIs, home page, logo) is held as a pending
change until an operator approves it; the consent page shows only what an operator saw.
"""

from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from oauth_console.audit.models import AuditEvent
from server import services
from server.actors import Actor
from server.models import Client
from tests.console.approval_pages import approve_from_the_list

from .conftest import make_app

pytestmark = pytest.mark.django_db

RENAME = {
    "name": "Totally Google",
    "description": "Now with more search.",
    "client_uri": "https://totally-google.example/",
    "logo_uri": "",
    "redirect_uris": "https://totally-google.example/callback",
    "grant_types": ["authorization_code", "refresh_token"],
    "scope": ["profile", "read"],
}


@pytest.fixture
def approved(developer, operator):
    client, _secret = make_app(developer, "Dana's app", grant_types=["authorization_code", "refresh_token"])
    services.set_client_status(client, Client.Status.ACTIVE, actor=Actor.operator(operator))
    return client


def consent_page(user, client: Client) -> str:
    http = HttpClient()
    http.force_login(user)
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri_list[0],
        "scope": "profile",
        "state": "s",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    response = http.get("/oauth/authorize?" + urlencode(query), secure=True)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_renaming_an_approved_app_is_held_for_review(dev_client, approved, end_user):
    response = dev_client.post(f"/developers/apps/{approved.client_id}/edit/", RENAME)

    assert response.status_code == 302
    approved.refresh_from_db()
    assert approved.name == "Dana's app"
    assert approved.redirect_uri_list == ["https://app.example.com/callback"]
    assert approved.client_uri == ""
    # What does not change how an end user judges the app applies at once.
    assert approved.description == "Now with more search."
    assert approved.pending_changes["name"] == "Totally Google"
    assert approved.pending_changes["redirect_uris"] == "https://totally-google.example/callback"
    detail = dev_client.get(f"/developers/apps/{approved.client_id}/").content.decode()
    assert "Waiting for an operator to review" in detail
    assert "Totally Google" in detail
    page = consent_page(end_user, approved)
    assert "Totally Google" not in page
    assert "Dana&#x27;s app" in page or "Dana's app" in page


def test_an_operator_approves_the_held_change_and_it_is_audited(
    dev_client, approved, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dev_client.post(f"/developers/apps/{approved.client_id}/edit/", RENAME)
    held = AuditEvent.objects.get(event_type="client_changed", detail__review="held")
    assert held.detail["changes"]["name"] == ["Dana's app", "Totally Google"]
    ops = HttpClient()
    ops.force_login(operator)

    with django_capture_on_commit_callbacks(execute=True):
        response = approve_from_the_list(
            ops, reverse("admin:server_client_changelist"), "approve_pending_changes", [approved.pk]
        )

    assert response.status_code == 302
    approved.refresh_from_db()
    assert approved.name == "Totally Google"
    assert approved.redirect_uri_list == ["https://totally-google.example/callback"]
    assert approved.client_uri == "https://totally-google.example/"
    assert approved.pending_changes == {}
    changed = AuditEvent.objects.filter(event_type="client_changed", client_id=approved.client_id)
    assert changed.filter(actor_label=f"operator:{operator.get_username()}").exists()
    # One event for the approval, saying so (issue 12, item 3).
    by_operator = changed.get(actor_label=f"operator:{operator.get_username()}")
    assert by_operator.detail["review"] == "approved"
    assert by_operator.detail["changes"]["name"] == ["Dana's app", "Totally Google"]


def test_an_operator_rejects_the_held_change(dev_client, approved, operator):
    dev_client.post(f"/developers/apps/{approved.client_id}/edit/", RENAME)
    ops = HttpClient()
    ops.force_login(operator)

    ops.post(
        reverse("admin:server_client_changelist"),
        {"action": "reject_pending_changes", "_selected_action": [approved.pk]},
    )

    approved.refresh_from_db()
    assert approved.name == "Dana's app"
    assert approved.pending_changes == {}


def test_the_operator_sees_the_held_change_on_the_clients_page(dev_client, approved, operator):
    dev_client.post(f"/developers/apps/{approved.client_id}/edit/", RENAME)
    ops = HttpClient()
    ops.force_login(operator)
    page = ops.get(reverse("admin:server_client_change", args=[approved.pk])).content.decode()
    assert "Totally Google" in page
    assert "review" in page.lower()


def test_a_pending_app_changes_at_once(dev_client, developer):
    client, _secret = make_app(developer, "Fresh app")
    dev_client.post(f"/developers/apps/{client.client_id}/edit/", RENAME)
    client.refresh_from_db()
    assert client.name == "Totally Google"
    assert client.pending_changes == {}


def test_a_new_front_channel_logout_page_waits_with_the_redirect_uris_that_allow_it(dev_client, approved):
    """The sign-out page frames it in people's browsers, and its origin must be a redirect URI's:
    moved together to a new host, both wait for the operator (none applies alone)."""
    moved = {
        **RENAME,
        "name": "Dana's app",
        "frontchannel_logout_uri": "https://totally-google.example/front-logout",
    }
    response = dev_client.post(f"/developers/apps/{approved.client_id}/edit/", moved)
    assert response.status_code == 302
    approved.refresh_from_db()
    assert approved.frontchannel_logout_uri == ""
    assert (
        approved.pending_changes["frontchannel_logout_uri"] == "https://totally-google.example/front-logout"
    )
    assert approved.pending_changes["redirect_uris"] == "https://totally-google.example/callback"
