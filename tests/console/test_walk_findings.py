"""What a walk through the console as each kind of user found (docs/screenshots/walk-2026-12/), each
pinned at the HTTP level: the section pills lead everyone to the audit log they may read, the audit
log says when it was last verified, and the webhook pages say plainly what a box and a count mean."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client as HttpClient

from oauth_console.audit import recorder
from oauth_console.audit.models import EventType, Outcome
from oauth_console.webhooks import outbox, services
from oauth_console.webhooks.models import Delivery
from server.actors import Actor

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
