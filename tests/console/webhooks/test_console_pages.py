"""The webhook pages: list, subscribe (the secret shown once), a subscription's deliveries with
status, latency and response code, send a test event and replay (POST behind a confirmation),
rotate the secret, change, delete; read-only operators see, never change."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client as HttpClient
from standardwebhooks.webhooks import Webhook

from oauth_console.audit.models import AuditEvent
from oauth_console.webhooks.models import Delivery, Subscription
from tests.task_queue import run_queued_tasks

pytestmark = pytest.mark.django_db

LIST = "/admin/webhooks/subscription/"


def _staff(django_user_model, username, group):
    user = django_user_model.objects.create_user(
        username, f"{username}@example.com", "pw-123456-x", is_staff=True
    )
    user.groups.add(Group.objects.get(name=group))
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def ops(django_user_model):
    return _staff(django_user_model, "olga", "operators")


@pytest.fixture
def readonly(django_user_model):
    return _staff(django_user_model, "rita", "read-only operators")


def _subscribe(ops, url, events=("client_created",)):
    answer = ops.post(
        LIST + "add/", {"name": "SIEM", "url": url, "event_types": list(events), "is_active": "on"}
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    subscription = Subscription.objects.get(name="SIEM")
    assert answer["Location"] == f"{LIST}{subscription.pk}/secret/"
    return subscription, answer["Location"]


def _secret_on(page) -> str:
    return re.search(r'id="webhook-secret" value="(whsec_[^"]+)"', page.content.decode()).group(1)


def test_subscribe_shows_the_secret_once(ops):
    subscription, secret_page = _subscribe(ops, "https://hooks.example.com/in")

    first = ops.get(secret_page)
    secret = _secret_on(first)
    assert "no-store" in first["Cache-Control"]
    again = ops.get(secret_page)
    assert secret not in again.content.decode() and "already shown" in again.content.decode()
    assert ops.get(f"{LIST}{subscription.pk}/change/").status_code == 200
    assert secret not in ops.get(f"{LIST}{subscription.pk}/change/").content.decode()
    event = AuditEvent.objects.get(event_type="webhook_subscription_created")
    assert event.actor_label == "operator:olga"


@pytest.mark.parametrize("url", ["http://hooks.example.com/", "https://127.0.0.1/", "javascript:alert(1)"])
def test_a_refused_url_is_a_form_error_and_nothing_is_written(ops, url):
    answer = ops.post(LIST + "add/", {"name": "SIEM", "url": url, "event_types": ["client_created"]})
    assert answer.status_code == 400
    assert "invalid-feedback" in answer.content.decode() or "is-invalid" in answer.content.decode()
    assert not Subscription.objects.exists()


def test_an_unknown_event_type_is_a_form_error(ops):
    answer = ops.post(
        LIST + "add/", {"name": "SIEM", "url": "https://h.example.com/", "event_types": ["token_issued"]}
    )
    assert answer.status_code == 400
    assert not Subscription.objects.exists()


@pytest.mark.django_db(transaction=True)  # the worker runs on committed rows
def test_the_page_shows_deliveries_and_sends_a_test_event_and_a_replay(operator, receiver):
    ops = HttpClient()
    ops.force_login(operator)
    subscription, secret_page = _subscribe(ops, receiver.url())
    secret = _secret_on(ops.get(secret_page))
    page = f"{LIST}{subscription.pk}/change/"

    confirm = ops.get(page.replace("change/", "test/"))
    assert confirm.status_code == 200 and "Send a test event" in confirm.content.decode()
    unconfirmed = ops.post(page.replace("change/", "test/"), {})
    assert unconfirmed.status_code == 400 and not Delivery.objects.exists()
    sent = ops.post(page.replace("change/", "test/"), {"confirm": "on"})
    assert sent.status_code == 302
    assert receiver.received == []  # queued, not sent in the request
    run_queued_tasks()

    (request,) = receiver.received
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"
    delivery = Delivery.objects.get()
    html = ops.get(page).content.decode()
    assert "delivered" in html and delivery.message_id in html
    assert f"{delivery.last_latency_ms} ms" in html and ">204<" in html

    replay_url = f"{LIST}{subscription.pk}/deliveries/{delivery.pk}/replay/"
    assert ops.get(replay_url).status_code == 200
    assert ops.post(replay_url, {"confirm": "on"}).status_code == 302
    run_queued_tasks()
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.message_id] * 2
    assert "replay" in ops.get(page).content.decode()


def test_rotate_shows_the_new_secret_once_and_both_sign(ops):
    subscription, secret_page = _subscribe(ops, "https://hooks.example.com/in")
    old = _secret_on(ops.get(secret_page))
    rotate = f"{LIST}{subscription.pk}/rotate/"

    assert ops.get(rotate).status_code == 200
    answer = ops.post(rotate, {"confirm": "on"})
    assert answer["Location"] == secret_page
    new = _secret_on(ops.get(secret_page))

    assert new != old
    html = ops.get(f"{LIST}{subscription.pk}/change/").content.decode()
    assert new[:10] in html and old[:10] in html and "signs until" in html


def test_change_and_delete(ops):
    subscription, _ = _subscribe(ops, "https://hooks.example.com/in")
    edit = f"{LIST}{subscription.pk}/edit/"
    assert ops.get(edit).status_code == 200
    answer = ops.post(
        edit, {"name": "SIEM 2", "url": "https://hooks.example.com/v2", "event_types": ["client_deleted"]}
    )
    assert answer.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.name, subscription.is_active, subscription.event_types) == (
        "SIEM 2",
        False,
        ["client_deleted"],
    )

    delete = f"{LIST}{subscription.pk}/delete/"
    assert ops.get(delete).status_code == 200
    assert ops.post(delete, {"confirm": "on"})["Location"] == LIST
    assert not Subscription.objects.exists()


def test_read_only_operators_see_but_change_nothing(ops, readonly):
    subscription, _ = _subscribe(ops, "https://hooks.example.com/in")
    assert readonly.get(LIST).status_code == 200
    assert readonly.get(f"{LIST}{subscription.pk}/change/").status_code == 200
    assert "Send test event" not in readonly.get(f"{LIST}{subscription.pk}/change/").content.decode()
    for action in ("test", "rotate", "edit", "delete", "secret"):
        assert readonly.post(f"{LIST}{subscription.pk}/{action}/", {"confirm": "on"}).status_code == 403
    assert readonly.get(LIST + "add/").status_code == 403
    assert Subscription.objects.get().name == "SIEM"


def test_staff_without_the_permission_cannot_open_the_list(django_user_model):
    user = django_user_model.objects.create_user("sam", "s@example.com", "pw-123456-x", is_staff=True)
    http = HttpClient()
    http.force_login(user)
    assert http.get(LIST).status_code == 403
