"""A webhook end to end (issue 15, "Done when"): a real receiver on loopback HTTPS gets a signed
delivery of a real event from the task worker, verifies it with the Standard Webhooks reference
library, fails once and gets the retry, then gets a replay."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

from oauth_console.audit.models import AuditEvent
from oauth_console.webhooks import services as webhooks
from oauth_console.webhooks.models import Delivery
from server import services
from server.actors import Actor
from tests.task_queue import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)

OPERATOR = Actor.system("tests")


def test_a_signed_delivery_a_failure_then_a_retry_and_a_replay(receiver, subscribe, settings):
    settings.OAUTH2_WEBHOOK_RETRY_DELAY = 0  # the retry is due at once: the same worker pass runs it
    receiver.answers = [(500, {}, 0), (204, {}, 0)]
    subscription, secret = subscribe(receiver.url())

    client, _ = services.create_client(name="Billing", actor=OPERATOR, redirect_uris=["https://b.example/cb"])
    assert receiver.received == []  # never in the request: the worker sends it

    run_queued_tasks()

    first, retry = receiver.received
    assert first.body == retry.body
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    for request in (first, retry):
        document = Webhook(secret).verify(request.body, request.headers)
        assert document["type"] == "client_created"
        assert document["data"]["client_id"] == client.client_id
        assert document["data"]["actor"] == "system:tests"
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 204)
    assert delivery.last_latency_ms is not None

    replay = webhooks.replay_delivery(delivery, actor=OPERATOR)
    run_queued_tasks()

    assert len(receiver.received) == 3
    again = receiver.received[2]
    assert again.headers["webhook-id"] == first.headers["webhook-id"]  # receivers de-duplicate by it
    assert Webhook(secret).verify(again.body, again.headers)["data"]["client_id"] == client.client_id
    replay.refresh_from_db()
    assert (replay.state, replay.replay_of_id) == ("delivered", delivery.pk)
    assert AuditEvent.objects.filter(event_type="webhook_delivery_replayed").count() == 1


def test_a_wrong_secret_does_not_verify(receiver, subscribe):
    subscribe(receiver.url(), event_types=["client_created"])
    services.create_client(name="Billing", actor=OPERATOR, redirect_uris=["https://b.example/cb"])
    run_queued_tasks()

    (request,) = receiver.received
    other_secret = webhooks.signing.new_secret()
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(other_secret).verify(request.body, request.headers)
    assert json.loads(request.body)["type"] == "client_created"


def test_during_a_rotation_both_secrets_sign(receiver, subscribe):
    subscription, old_secret = subscribe(receiver.url(), event_types=["client_created"])
    new_secret = webhooks.rotate_subscription_secret(subscription, actor=OPERATOR).secret

    services.create_client(name="Billing", actor=OPERATOR, redirect_uris=["https://b.example/cb"])
    run_queued_tasks()

    (request,) = receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old_secret).verify(request.body, request.headers)
    assert Webhook(new_secret).verify(request.body, request.headers)
