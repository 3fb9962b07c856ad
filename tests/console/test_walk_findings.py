"""What a walk through the console as each kind of user found (docs/screenshots/walk-2026-12/), each
pinned at the HTTP level: the section pills lead everyone to the audit log they may read, the audit
log says when it was last verified, and the webhook pages say plainly what a box and a count mean."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client as HttpClient

from oauth_console.audit import recorder
from oauth_console.audit.models import AuditEvent, EventType, Outcome
from oauth_console.webhooks import outbox, services
from oauth_console.webhooks.models import Delivery
from server import services as services_clients
from server.actors import Actor
from server.models import Api

pytestmark = pytest.mark.django_db

AUDIT_LIST = "/admin/audit/auditevent/"
HOOKS = "/admin/webhooks/subscription/"


def signed_in(django_user_model, username, group=None, **flags):
    user = django_user_model.objects.create_user(username, f"{username}@example.com", "pw-123456-x", **flags)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    http = HttpClient()
    http.force_login(user)
    return http


def console_pills(html: str) -> list[str]:
    nav = re.search(r'<nav[^>]*aria-label="Console"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "the page has the console's section pills"
    return [
        re.sub(r"\s+", " ", text).strip() for text in re.findall(r"<a[^>]*>(.*?)</a>", nav.group(1), re.S)
    ]


@pytest.fixture
def security(django_user_model):
    return signed_in(django_user_model, "sam", "security", is_staff=True)


@pytest.fixture
def operator(django_user_model):
    return signed_in(django_user_model, "olga", is_staff=True, is_superuser=True)


# --- the audit log in the section pills --------------------------------------------------------


def test_a_security_analyst_finds_the_audit_log_in_the_pills_and_no_dead_end(security):
    """Before: the security team's pills held only "Admin" (the log was two clicks away)."""
    pills = console_pills(security.get("/admin/").content.decode())
    assert pills == ["Audit log", "Admin"]


def test_the_audit_log_pill_is_marked_current_on_the_log(security, operator):
    html = security.get(AUDIT_LIST).content.decode()
    pills = re.search(r'<nav[^>]*aria-label="Console"[^>]*>(.*?)</nav>', html, re.S).group(1)
    assert re.search(rf'class="active" aria-current="page" href="{AUDIT_LIST}"', pills)
    assert pills.count('aria-current="page"') == 1
    # The operator's pages built on the console layout (webhooks) carry it too.
    assert "Audit log" in console_pills(operator.get(HOOKS).content.decode())


# --- the last verification on the audit log ----------------------------------------------------


def verified(capture, outcome, **detail):
    """The event verify_audit_log records after its walk (commands_log.record_command's fields);
    an observed event is stored when the transaction commits."""
    with capture(execute=True):
        recorder.record(
            EventType.AUDIT_LOG_VERIFIED,
            outcome=outcome,
            actor_label="system:verify_audit_log",
            detail=detail,
        )


def test_the_audit_log_says_it_was_never_verified_and_how_to(security):
    html = security.get(AUDIT_LIST).content.decode()
    assert "Not verified yet" in html and "verify_audit_log" in html


def test_the_audit_log_shows_the_last_verification_and_its_result(
    security, django_capture_on_commit_callbacks
):
    verified(django_capture_on_commit_callbacks, Outcome.SUCCESS, checked=1234, sealed=1200, intact=True)
    html = security.get(AUDIT_LIST).content.decode()
    assert re.search(r"Last verified .*intact.*1,234 events checked", html, re.S), html
    verified(django_capture_on_commit_callbacks, Outcome.FAILURE, checked=99, sealed=90, intact=False)
    html = security.get(AUDIT_LIST).content.decode()
    assert "NOT intact" in html


# --- webhook pages: words --------------------------------------------------------------------


def test_the_active_box_says_what_unticking_it_does(operator):
    html = operator.get(f"{HOOKS}add/").content.decode()
    assert "Paused: events are not queued for it." not in html
    assert "Untick to pause" in html


@pytest.mark.parametrize(
    "pending, words", [(0, "no pending delivery"), (1, "1 pending delivery "), (2, "2 pending deliveries")]
)
def test_the_delete_confirmation_counts_pending_deliveries_in_plain_words(operator, pending, words):
    subscription, _secret = services.create_subscription(
        name="SIEM",
        url="https://hooks.example.com/in",
        event_types=["client_created"],
        actor=Actor.system("t"),
    )
    for _ in range(pending):
        outbox.write("client_created", {"client_id": "x"}, to=[subscription])
    assert Delivery.objects.filter(subscription=subscription, state=Delivery.State.PENDING).count() == pending
    html = operator.get(f"{HOOKS}{subscription.pk}/delete/").content.decode()
    assert "(ies)" not in html
    assert words in html


# --- held changes: reviewed from the client's page -----------------------------------------


@pytest.fixture
def held(make_client, django_user_model):
    """An approved app whose developer renamed it: the new name waits for an operator."""
    owner = django_user_model.objects.create_user("devon", "devon@example.com", "pw-123456-x")
    client, _secret = make_client("Photo Printer", owner=owner)
    services_clients.propose_client_changes(client, actor=Actor.developer(owner), name="Photo Printer Pro")
    client.refresh_from_db()
    assert client.pending_changes == {"name": "Photo Printer Pro"}
    return client


def review_url(client) -> str:
    return f"/admin/server/client/{client.pk}/held-changes/"


def test_the_client_page_links_to_a_review_of_its_held_changes(operator, held):
    """Before: the page showed the held change and said to use a list action elsewhere."""
    page = operator.get(f"/admin/server/client/{held.pk}/change/").content.decode()
    assert f'href="{review_url(held)}"' in page
    review = operator.get(review_url(held)).content.decode()
    assert "Photo Printer Pro" in review and "Approve" in review and "Reject" in review


@pytest.mark.parametrize(
    "decision, name, done",
    [("approve", "Photo Printer Pro", "approved"), ("reject", "Photo Printer", "rejected")],
)
def test_approving_or_rejecting_from_the_review_page(
    operator, held, decision, name, done, django_capture_on_commit_callbacks
):
    page = operator.get(review_url(held)).content.decode()
    (proposal,) = re.findall(r'name="proposal" value="([^"]+)"', page)  # what the page showed
    with django_capture_on_commit_callbacks(execute=True):
        answer = operator.post(review_url(held), {"decision": decision, "proposal": proposal})
    assert answer.status_code == 302 and answer["Location"] == f"/admin/server/client/{held.pk}/change/"
    held.refresh_from_db()
    assert (held.name, held.pending_changes) == (name, {})
    events = AuditEvent.objects.filter(event_type="client_changed", client_id=held.client_id)
    (event,) = [e for e in events if e.actor_label == "operator:olga"]  # (and the developer's "held")
    assert event.detail["review"] == done
    page = operator.get(answer["Location"]).content.decode()
    assert "Held changes of Photo Printer" in page and f" {done}." in page


def test_the_review_page_refuses_a_bad_decision_and_read_only_operators(operator, held, django_user_model):
    assert operator.post(review_url(held), {"decision": "maybe"}).status_code == 400
    held.refresh_from_db()
    assert held.pending_changes
    viewer = signed_in(django_user_model, "rita", "read-only operators", is_staff=True)
    assert viewer.get(review_url(held)).status_code == 403
    assert viewer.post(review_url(held), {"decision": "approve"}).status_code == 403
    assert (
        f'href="{review_url(held)}"'
        not in viewer.get(f"/admin/server/client/{held.pk}/change/").content.decode()
    )


def test_nothing_held_sends_the_operator_back_to_the_client(operator, make_client):
    client, _ = make_client("Quiet app")
    answer = operator.get(review_url(client))
    assert answer.status_code == 302 and answer["Location"] == f"/admin/server/client/{client.pk}/change/"


# --- APIs: "any client" -----------------------------------------------------------------------


def test_an_api_open_to_any_client_is_set_and_kept_through_the_console(operator):
    """Before: the form had no "any client" box (the fieldsets left it out), so it could not be
    set in the console, and saving an API that had it (set by import or the operator API)
    silently closed it to every client not listed."""
    add = operator.get("/admin/server/api/add/").content.decode()
    assert 'name="allow_any_client"' in add
    fields = {
        "identifier": "https://photos.example.com/",
        "name": "Photo API",
        "scopes_text": "photos.read: See your photos",
        "token_format": "opaque",
        "access_token_lifetime": "",
        "allow_any_client": "on",
    }
    assert operator.post("/admin/server/api/add/", fields).status_code == 302
    api = Api.objects.get(identifier="https://photos.example.com/")
    assert api.allow_any_client
    # Saving it again with the box still ticked (the page shows it ticked) keeps it open.
    change = operator.get(f"/admin/server/api/{api.pk}/change/").content.decode()
    assert re.search(r'<input[^>]*name="allow_any_client"[^>]*checked', change)
    assert (
        operator.post(f"/admin/server/api/{api.pk}/change/", {**fields, "name": "Photos"}).status_code == 302
    )
    api.refresh_from_db()
    assert (api.name, api.allow_any_client) == ("Photos", True)


# --- list actions that cannot be undone ask first -----------------------------------------------

CLIENTS = "/admin/server/client/"


@pytest.mark.parametrize(
    ("action", "before", "after", "words"),
    [
        ("disable_selected", "active", "disabled", "1 client will be disabled."),
        ("reject_selected", "pending", "rejected", "1 client will be rejected."),
    ],
)
def test_disabling_or_rejecting_selected_clients_asks_first(
    operator, make_client, action, before, after, words
):
    """Before: choosing the action and "Go" disabled (or rejected) at once, tokens and all."""
    target, _ = make_client("Target", status=before)
    asked = operator.post(CLIENTS, {"action": action, "_selected_action": [target.pk], "index": 0})
    assert asked.status_code == 200 and words in asked.content.decode()
    target.refresh_from_db()
    assert target.status == before
    done = operator.post(CLIENTS, {"action": action, "_selected_action": [target.pk], "confirm": "yes"})
    assert done.status_code == 302
    target.refresh_from_db()
    assert target.status == after


def test_revoking_selected_initial_access_tokens_asks_first(operator):
    token = services_clients.create_initial_access_token(
        actor=Actor.system("t"), max_registrations=1, allowed_scope=["profile"]
    )[0]
    url = "/admin/server/initialaccesstoken/"
    asked = operator.post(url, {"action": "revoke", "_selected_action": [token.pk]})
    assert asked.status_code == 200 and "1 initial access token will be revoked." in asked.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    assert (
        operator.post(url, {"action": "revoke", "_selected_action": [token.pk], "confirm": "yes"}).status_code
        == 302
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


# --- one navbar ----------------------------------------------------------------------------------


def test_staff_find_change_password_on_the_console_pages_too(operator, django_user_model):
    """Before: the admin's pages offered "Change password", the console's own pages (dashboard,
    webhooks, rotate, bulk revoke) built on base.html did not."""
    for path in ("/console/", HOOKS, "/admin/"):
        assert 'href="/admin/password_change/"' in operator.get(path).content.decode(), path
    alice = signed_in(django_user_model, "alice")
    assert "/admin/password_change/" not in alice.get("/account/apps/").content.decode()


def test_the_developers_list_says_which_app_has_changes_under_review(held):
    """Before: only the app's own page said so; the list showed it as plainly active."""
    developer = HttpClient()
    developer.force_login(held.owner)
    row = re.search(
        r'<tr data-client-id="[^"]+">(.*?)</tr>', developer.get("/developers/").content.decode(), re.S
    )
    assert "Photo Printer" in row.group(1) and "Changes under review" in row.group(1)
