"""/api/v1/webhooks: subscribe (the secret shown once, Idempotency-Key), read, change, delete,
rotate, test, deliveries, replay; malformed and hostile bodies are 400 problems naming the
field, with nothing written; every write is audited with the calling client as actor."""

import pytest
from django.utils.dateparse import parse_datetime
from standardwebhooks.webhooks import Webhook

from oauth_console.audit.models import AuditEvent
from oauth_console.webhooks.models import Delivery, Subscription, SubscriptionSecret
from tests.task_queue import run_queued_tasks

from .conftest import api_with, assert_problem

pytestmark = pytest.mark.django_db
BASE = "/api/v1/webhooks"
BODY = {"name": "SIEM", "url": "https://hooks.example.com/in", "event_types": ["client_created"]}


@pytest.fixture
def hooks(db):
    return api_with(["console:webhooks:write"])


def test_subscribe_answers_the_secret_once(hooks):
    created = hooks.post(BASE, BODY, HTTP_IDEMPOTENCY_KEY="siem-1")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["signing_secret"].startswith("whsec_")
    assert body["secret_prefixes"] == [body["signing_secret"][:10]]
    assert (body["url"], body["event_types"], body["is_active"]) == (BODY["url"], ["client_created"], True)

    replay = hooks.post(BASE, BODY, HTTP_IDEMPOTENCY_KEY="siem-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["signing_secret"] is None  # shown once, never stored
    assert Subscription.objects.count() == 1
    read = hooks.get(f"{BASE}/{body['id']}").json()
    assert "signing_secret" not in read and body["signing_secret"] not in str(read)
    event = AuditEvent.objects.get(event_type="webhook_subscription_created")
    assert event.actor_label == f"client:{hooks.client.client_id}"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "http://hooks.example.com/"}, "url"),
        ({"url": "https://169.254.169.254/latest"}, "url"),
        ({"url": "https://user:pw@hooks.example.com/"}, "url"),
        ({"url": 42}, "url"),
        ({"event_types": ["token_issued"]}, "event_types"),
        ({"event_types": "client_created"}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"name": "bell\x07"}, "name"),
        ({"is_active": "yes"}, "is_active"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_a_malformed_or_hostile_subscription_is_a_400_naming_the_field(hooks, change, field):
    response = hooks.post(BASE, {**BODY, **change})
    body = assert_problem(response, 400)
    assert field in body["errors"], body
    assert not Subscription.objects.exists()


@pytest.mark.django_db(transaction=True)  # the worker runs on committed rows
def test_change_rotate_test_deliveries_replay_and_delete(hooks, receiver):
    created = hooks.post(BASE, {**BODY, "url": receiver.url()}).json()
    path = f"{BASE}/{created['id']}"

    changed = hooks.patch(path, {"event_types": ["client_created", "client_deleted"], "name": "SIEM 2"})
    assert changed.status_code == 200 and changed.json()["name"] == "SIEM 2"
    assert_problem(hooks.patch(path, {"url": "https://10.0.0.1/"}), 400)

    rotated = hooks.post(f"{path}/secret/rotate")
    assert rotated.status_code == 201
    new_secret = rotated.json()["signing_secret"]
    assert len(hooks.get(path).json()["secret_prefixes"]) == 2
    # The older secret signs until the date the service stored, which the answer gives as is.
    older = SubscriptionSecret.objects.filter(subscription_id=created["id"], expires_at__isnull=False).get()
    assert parse_datetime(rotated.json()["previous_secrets_sign_until"]) == older.expires_at

    test = hooks.post(f"{path}/test")
    assert test.status_code == 202 and test.json()["event_type"] == "webhook.test"
    run_queued_tasks()
    (request,) = receiver.received
    assert Webhook(new_secret).verify(request.body, request.headers)["type"] == "webhook.test"
    assert Webhook(created["signing_secret"]).verify(request.body, request.headers)  # the overlap

    deliveries = hooks.get(f"{path}/deliveries", {"state": "delivered"}).json()
    (delivery,) = deliveries["results"]
    assert (delivery["state"], delivery["last_status_code"], delivery["attempts"]) == ("delivered", 204, 1)
    assert_problem(hooks.get(f"{path}/deliveries", {"state": "lost"}), 400)
    assert_problem(hooks.get(f"{path}/deliveries", {"colour": "red"}), 400)

    replay = hooks.post(f"{path}/deliveries/{delivery['id']}/replay")
    assert replay.status_code == 202 and replay.json()["replay_of"] == delivery["id"]
    run_queued_tasks()
    assert receiver.received[1].headers["webhook-id"] == delivery["message_id"]
    assert_problem(hooks.post(f"{path}/deliveries/999999/replay"), 404)

    assert hooks.delete(path).status_code == 204
    assert not Subscription.objects.exists() and not Delivery.objects.exists()
    assert_problem(hooks.get(path), 404)
    kinds = set(
        AuditEvent.objects.filter(event_type__startswith="webhook_").values_list("event_type", flat=True)
    )
    assert kinds == {
        "webhook_subscription_created",
        "webhook_subscription_changed",
        "webhook_secret_rotated",
        "webhook_test_event_sent",
        "webhook_delivery_replayed",
        "webhook_subscription_deleted",
    }


def test_a_body_on_an_action_that_takes_none_is_refused(hooks):
    created = hooks.post(BASE, BODY).json()
    body = assert_problem(hooks.post(f"{BASE}/{created['id']}/test", {"url": "https://x.example.com/"}), 400)
    assert "url" in body["errors"]
    assert not Delivery.objects.exists()


def test_the_list_pages(hooks):
    for n in range(3):
        hooks.post(BASE, {**BODY, "name": f"SIEM {n}"})
    page = hooks.get(BASE, {"limit": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2
    assert_problem(hooks.get(BASE, {"limit": 0}), 400)
