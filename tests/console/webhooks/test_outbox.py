"""The transactional outbox: a delivery row (and its task) commits with the event it reports,
or not at all; only subscribed, active subscriptions get one; events that report no write of
ours are written when heard and never break the request that sent them."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from oauth_console.audit.models import AuditEvent
from oauth_console.webhooks import outbox
from oauth_console.webhooks.models import Delivery
from server import events, services
from server.actors import Actor
from server.models import Token

OPERATOR = Actor.system("tests")


class Abandoned(Exception):
    pass


def _client(name="Billing"):
    client, _ = services.create_client(name=name, actor=OPERATOR, redirect_uris=["https://b.example/cb"])
    return client


@pytest.mark.django_db(transaction=True)
def test_an_event_in_a_rolled_back_transaction_delivers_nothing(subscribe):
    subscribe("https://hooks.example.com/in", event_types=["client_created"])
    tasks_before = DBTaskResult.objects.count()

    with pytest.raises(Abandoned), transaction.atomic():
        _client()
        assert Delivery.objects.count() == 1  # written with the fact, inside its transaction
        raise Abandoned

    assert Delivery.objects.count() == 0
    assert DBTaskResult.objects.count() == tasks_before


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_has_its_delivery_and_its_task(subscribe):
    subscription, _ = subscribe("https://hooks.example.com/in", event_types=["client_created"])
    client = _client()

    delivery = Delivery.objects.get()
    assert delivery.subscription == subscription and delivery.state == "pending"
    body = json.loads(delivery.payload)
    assert body["type"] == "client_created"
    assert body["data"] == {"client_id": client.client_id, "name": "Billing", "actor": "system:tests"}
    task = DBTaskResult.objects.get(queue_name="webhooks")
    assert task.args_kwargs == {"args": [subscription.pk], "kwargs": {}}


@pytest.mark.django_db
def test_only_active_subscriptions_to_the_event_type_get_a_delivery(subscribe):
    wants, _ = subscribe("https://a.example.com/", event_types=["client_created"])
    subscribe("https://b.example.com/", event_types=["client_deleted"])
    subscribe("https://c.example.com/", event_types=["client_created"], is_active=False)

    _client()

    assert list(Delivery.objects.values_list("subscription_id", flat=True)) == [wants.pk]


@pytest.mark.django_db
def test_the_body_never_carries_a_secret(subscribe):
    subscribe("https://a.example.com/", event_types=["client_created", "client_secret_rotated"])
    client, secret = services.create_client(
        name="Billing", actor=OPERATOR, redirect_uris=["https://b.example/cb"]
    )
    new_secret = services.rotate_client_secret(client, actor=OPERATOR)[0]

    bodies = " ".join(Delivery.objects.values_list("payload", flat=True))
    assert secret not in bodies and new_secret not in bodies
    assert Delivery.objects.count() == 2


@pytest.mark.django_db
def test_a_reused_refresh_token_is_delivered(subscribe):
    subscription, _ = subscribe("https://a.example.com/", event_types=["refresh_token_reused"])
    client = _client()
    token = services.store_token(
        {"access_token": "oat_x", "refresh_token": "ort_x", "expires_in": 60},
        client=client,
        user=None,
        grant_type="client_credentials",
    )

    events.refresh_token_reused.send(sender=Token, client=client, token=token, request=None)

    body = json.loads(Delivery.objects.get(subscription=subscription).payload)
    assert body["data"] == {"client_id": client.client_id, "family_id": str(token.family_id)}


@pytest.mark.django_db
def test_a_throttle_is_delivered_as_a_failed_authentication_burst(subscribe):
    subscription, _ = subscribe("https://a.example.com/", event_types=["request_throttled"])

    events.request_throttled.send(
        sender=None,
        request=None,
        scope="token",
        limit="auth_failures_client_ip",
        client_id="abc",
        ip="203.0.113.9",
        retry_after=60,
    )

    data = json.loads(Delivery.objects.get(subscription=subscription).payload)["data"]
    assert data["limit"] == "auth_failures_client_ip" and data["ip"] == "203.0.113.9"


@pytest.mark.django_db
def test_a_burst_of_throttles_is_one_delivery_per_limit_client_and_address(subscribe):
    subscribe("https://a.example.com/", event_types=["request_throttled"])

    def throttle(ip, limit="auth_failures_client_ip"):
        events.request_throttled.send(
            sender=None, request=None, scope="token", limit=limit, client_id="abc", ip=ip, retry_after=60
        )

    for _ in range(20):
        throttle("203.0.113.9")
    throttle("203.0.113.10")
    throttle("203.0.113.9", limit="token_ip")

    sent = [json.loads(body)["data"] for body in Delivery.objects.values_list("payload", flat=True)]
    assert sorted((d["ip"], d["limit"]) for d in sent) == [
        ("203.0.113.10", "auth_failures_client_ip"),
        ("203.0.113.9", "auth_failures_client_ip"),
        ("203.0.113.9", "token_ip"),
    ]


@pytest.mark.django_db
def test_a_failed_audit_verification_is_delivered(subscribe):
    subscription, _ = subscribe("https://a.example.com/", event_types=["audit_verification_failed"])

    call_command("verify_audit_log")  # intact: nothing to tell
    assert not Delivery.objects.exists()
    AuditEvent.objects.filter(event_type="webhook_subscription_created").update(username="forged")
    with pytest.raises(CommandError):
        call_command("verify_audit_log")

    delivery = Delivery.objects.get(subscription=subscription)
    assert delivery.event_type == "audit_verification_failed"
    assert json.loads(delivery.payload)["data"]["problem"]


@pytest.mark.django_db
def test_a_listener_that_cannot_write_never_breaks_the_request(subscribe, monkeypatch, caplog):
    subscribe("https://a.example.com/", event_types=["request_throttled"])

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(outbox, "write", broken)
    events.request_throttled.send(
        sender=None, request=None, scope="token", limit="token_ip", client_id="", ip=""
    )

    assert "Could not write the webhook deliveries of request_throttled" in caplog.text
