"""An operator approves exactly what they were shown (docs/security.md, "The machine-facing
review", findings 6, 9 and 10): at every door that approves a pending app or held changes, a
registrant who changes the values between the operator's look and the click gets a refusal
(409, the current values shown again), never an approval of values no operator saw. Each test
failed before its fix."""

import pytest
from django.test import Client as HttpClient

from server import services
from server.actors import Actor
from server.models import Client
from tests.console.api.conftest import api_with, assert_problem
from tests.console.approval_pages import posted_back
from tests.security.test_content_security_policy import assert_strict_policy, inline_code_in

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/server/client/"
ATTACKER_URI = "https://attacker.example/cb"


@pytest.fixture
def developer(django_user_model):
    return django_user_model.objects.create_user("devon", "devon@example.com", "pw-123456-x")


@pytest.fixture
def pending(make_client, developer):
    def make(name: str) -> Client:
        app, _secret = make_client(name, owner=developer, status=Client.Status.PENDING)
        return app

    return make


@pytest.fixture
def console(operator) -> HttpClient:
    http = HttpClient()
    http.force_login(operator)
    return http


def registrant_changes(app: Client, developer, **changes) -> None:
    """The registrant's edit (the portal's, or its RFC 7592 PUT: both propose_client_changes)."""
    services.propose_client_changes(
        Client.objects.get(pk=app.pk), actor=Actor.developer(developer), **changes
    )


def test_the_approve_page_approves_only_the_pending_app_it_showed(console, pending, developer):
    """The client's "Approve client" page approved the app's settings as they were when the
    button was pressed; a pending app's registrant may change them at any time, so a redirect
    URI swapped in after the operator looked went live unseen. The page now shows the settings
    and posts back their fingerprint (`services.settings_fingerprint`); `set_client_status`
    compares it under a row lock."""
    app = pending("Weather widget")
    url = f"/admin/server/client/{app.pk}/status/approve/"
    page = console.get(url).content.decode()
    assert "https://app.example.com/callback" in page

    registrant_changes(app, developer, redirect_uris=[ATTACKER_URI])
    answer = console.post(url, {**posted_back(page), "reason": "looks fine"})

    assert answer.status_code == 409, answer.content[:300]
    shown = answer.content.decode()
    assert "review them again" in shown and ATTACKER_URI in shown  # the page shows the app as it is now
    app.refresh_from_db()
    assert app.status == Client.Status.PENDING
    again = console.post(url, {**posted_back(shown), "reason": "looks fine"})
    assert again.status_code == 302
    app.refresh_from_db()
    assert (app.status, app.redirect_uri_list) == (Client.Status.ACTIVE, [ATTACKER_URI])


def test_the_list_approves_only_the_pending_apps_its_confirmation_showed(console, pending, developer):
    """The list's "Approve selected pending clients" approved at once, showing no values: an app
    changed after the operator opened it was approved as it had become. The action now asks
    first on a page listing each app's settings and posting back their fingerprints: the apps
    shown as they still are are approved, any other is shown again (409)."""
    steady, swapped = pending("Steady app"), pending("Swapped app")
    selection = {"action": "approve_selected", "_selected_action": [steady.pk, swapped.pk]}
    page = console.post(CHANGELIST, selection)
    assert page.status_code == 200, page.status_code
    html = page.content.decode()
    assert "Steady app" in html and "Swapped app" in html and "https://app.example.com/callback" in html
    assert Client.objects.filter(status=Client.Status.PENDING).count() == 2  # nothing written yet

    registrant_changes(swapped, developer, redirect_uris=[ATTACKER_URI])
    answer = console.post(CHANGELIST, posted_back(html))

    assert answer.status_code == 409, answer.status_code
    again = answer.content.decode()
    assert ATTACKER_URI in again and "Steady app" not in again  # only the changed app, as it is now
    assert Client.objects.get(pk=steady.pk).status == Client.Status.ACTIVE
    assert Client.objects.get(pk=swapped.pk).status == Client.Status.PENDING
    done = console.post(CHANGELIST, posted_back(again))
    assert done.status_code == 302
    assert Client.objects.get(pk=swapped.pk).status == Client.Status.ACTIVE


def test_the_list_approves_only_the_held_changes_its_confirmation_showed(console, make_client, developer):
    """The list's "Approve held changes" approved whatever was held when it ran, showing no
    values (finding 6 left it so). It now asks first on a page listing each client's held
    changes with their fingerprints (`services.proposal_fingerprint`): a proposal replaced since
    is not approved and is shown again (409)."""
    apps = [make_client(name, owner=developer)[0] for name in ("Steady app", "Swapped app")]
    for app in apps:
        registrant_changes(app, developer, name=f"{app.name} Pro")
    steady, swapped = apps
    page = console.post(
        CHANGELIST, {"action": "approve_pending_changes", "_selected_action": [steady.pk, swapped.pk]}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Steady app Pro" in html and "Swapped app Pro" in html
    assert not Client.objects.filter(name__endswith="Pro").exists()  # nothing written yet

    registrant_changes(swapped, developer, name="Swapped app Pro", redirect_uris=[ATTACKER_URI])
    answer = console.post(CHANGELIST, posted_back(html))

    assert answer.status_code == 409
    again = answer.content.decode()
    assert ATTACKER_URI in again and "Steady app" not in again
    steady.refresh_from_db(), swapped.refresh_from_db()
    assert (steady.name, steady.pending_changes) == ("Steady app Pro", {})
    assert swapped.name == "Swapped app" and swapped.redirect_uri_list == ["https://app.example.com/callback"]
    assert console.post(CHANGELIST, posted_back(again)).status_code == 302
    swapped.refresh_from_db()
    assert (swapped.redirect_uri_list, swapped.pending_changes) == ([ATTACKER_URI], {})


def test_the_api_approves_only_the_settings_the_caller_read(pending, developer):
    """`POST /api/v1/clients/{id}/approve` approved the app's settings as they were then. With
    the `settings_fingerprint` the caller read (GET /clients/{id}), settings changed since are a
    409 with the client as it is now, and nothing is approved."""
    app = pending("Weather widget")
    api = api_with(["console:clients:read", "console:clients:write"])
    url = f"/api/v1/clients/{app.client_id}"
    read = api.get(url).json()

    registrant_changes(app, developer, redirect_uris=[ATTACKER_URI])
    shown = {"reason": "ok", "settings_fingerprint": read["settings_fingerprint"]}
    refused = api.post(f"{url}/approve", shown)

    body = assert_problem(refused, 409, "settings-changed")
    assert body["client"]["redirect_uris"] == [ATTACKER_URI] and body["client"]["status"] == "pending"
    assert Client.objects.get(pk=app.pk).status == Client.Status.PENDING
    approved = api.post(
        f"{url}/approve", {"reason": "ok", "settings_fingerprint": body["client"]["settings_fingerprint"]}
    )
    assert approved.status_code == 200 and approved.json()["status"] == "active"


def test_a_registrants_change_racing_the_approval_is_held_not_applied(pending, developer, operator):
    """A registrant's write that read the app while pending and lands after the approval applied
    at once (a pending app's changes do), so the app went active with a redirect URI no operator
    saw. `propose_client_changes` now reads the status under the row lock the approval takes:
    the change is held for review."""
    app = pending("Weather widget")
    read_while_pending = Client.objects.get(pk=app.pk)
    services.set_client_status(app, Client.Status.ACTIVE, actor=Actor.operator(operator))
    services.propose_client_changes(
        read_while_pending, actor=Actor.developer(developer), redirect_uris=[ATTACKER_URI]
    )
    app.refresh_from_db()
    assert app.status == Client.Status.ACTIVE
    assert app.redirect_uri_list == ["https://app.example.com/callback"]
    assert app.pending_changes == {"redirect_uris": ATTACKER_URI}


def test_the_approval_pages_keep_the_strict_policy_and_show_hostile_values_as_text(console, make_client):
    """The pages that now show what an approval approves render a registrant's values: escaped,
    no inline code, under the site's policy (as tests/security/test_new_pages_csp_and_markup.py)."""
    hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    app, _ = make_client(hostile, status=Client.Status.PENDING)
    Client.objects.filter(pk=app.pk).update(pending_changes={"name": hostile + " Pro"})
    selected = {"_selected_action": [app.pk]}
    pages = {
        "approve page": console.get(f"/admin/server/client/{app.pk}/status/approve/"),
        "list approval": console.post(CHANGELIST, {"action": "approve_selected", **selected}),
        "held changes": console.post(CHANGELIST, {"action": "approve_pending_changes", **selected}),
    }
    for where, page in pages.items():
        assert page.status_code == 200, where
        assert_strict_policy(page)
        assert inline_code_in(page) == [], where
        body = page.content.decode()
        assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body, where


def test_an_api_approval_without_a_fingerprint_approves_the_settings_as_they_are(pending):
    """Callers written before `settings_fingerprint` (and automation that reviews nothing) keep
    working: the approval takes the settings as they are when it lands (docs/api.md)."""
    app = pending("Weather widget")
    api = api_with(["console:clients:read", "console:clients:write"])
    approved = api.post(f"/api/v1/clients/{app.client_id}/approve", {"reason": "automated"})
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert Client.objects.get(pk=app.pk).status == Client.Status.ACTIVE
