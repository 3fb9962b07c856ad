"""The webhook services: the one write path, each write audited with its fact; secrets shown once,
stored encrypted, rotated with an overlap; hostile URLs and event types refused, nothing written."""

import inspect
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from oauth_console.audit.models import AuditEvent
from oauth_console.webhooks import delivery as worker
from oauth_console.webhooks import services as webhooks
from oauth_console.webhooks import signing
from oauth_console.webhooks.models import Delivery, Subscription, SubscriptionSecret
from server.actors import Actor
from server.policies import PolicyError
from tests.properties.hostile.values import HOSTILE_TEXT, HOSTILE_WEBHOOK_URLS

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system("tests")
URL = "https://hooks.example.com/in"


@pytest.mark.parametrize("url", HOSTILE_WEBHOOK_URLS)
def test_a_hostile_url_is_refused_and_nothing_is_written(url):
    with pytest.raises(PolicyError) as refused:
        webhooks.create_subscription(name="x", url=url, event_types=["client_created"], actor=OPERATOR)
    assert refused.value.field == "url"
    assert not Subscription.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("url", HOSTILE_WEBHOOK_URLS)
def test_a_hostile_url_is_refused_as_a_change(subscribe, url):
    subscription, _ = subscribe(URL)
    with pytest.raises(PolicyError):
        webhooks.update_subscription(subscription, actor=OPERATOR, url=url)
    subscription.refresh_from_db()
    assert subscription.url == URL


@pytest.mark.parametrize("name", [*HOSTILE_TEXT[8:], "", " ", "line\nbreak"])
def test_a_hostile_name_is_refused(name):
    with pytest.raises(PolicyError):
        webhooks.create_subscription(name=name, url=URL, event_types=["client_created"], actor=OPERATOR)
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "event_types", [[], ["token_issued"], ["client_created", "nope"], "client_created", [1], ["webhook.test"]]
)
def test_event_types_outside_the_catalogue_are_refused(event_types):
    with pytest.raises(PolicyError) as refused:
        webhooks.create_subscription(name="x", url=URL, event_types=event_types, actor=OPERATOR)
    assert refused.value.field == "event_types"
    assert not Subscription.objects.exists()


def test_an_allowed_network_may_be_subscribed(settings):
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = ["10.1.2.0/24"]
    subscription, _ = webhooks.create_subscription(
        name="internal", url="https://10.1.2.3/hook", event_types=["client_created"], actor=OPERATOR
    )
    assert subscription.url == "https://10.1.2.3/hook"


def test_the_secret_is_returned_once_and_stored_encrypted(subscribe):
    subscription, secret = subscribe(URL)

    assert secret.startswith("whsec_") and len(secret) > 40
    row = SubscriptionSecret.objects.get()
    assert secret not in row.encrypted and secret[6:] not in row.encrypted
    assert row.prefix == secret[:10]
    assert worker.signing_secrets(subscription.pk) == [secret]
    # Bound to its subscription: copied onto another one's row, it does not decrypt.
    with pytest.raises(Exception, match="cannot be decrypted"):
        signing.unseal(subscription.pk + 1, row.encrypted)


def test_our_signature_is_the_standard_one(subscribe):
    secret = signing.new_secret()
    body = b'{"type":"client_created"}'
    headers = signing.headers([secret], "msg_1", int(timezone.now().timestamp()), body)
    assert Webhook(secret).verify(body, headers) == {"type": "client_created"}
    # A known answer, from the specification's example secret.
    example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert signing.signature(
        example, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    ) == ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def test_a_rotation_keeps_the_old_secret_signing_for_the_overlap(subscribe, settings):
    settings.OAUTH2_WEBHOOK_SECRET_OVERLAP = 3600
    subscription, old = subscribe(URL)

    new = webhooks.rotate_subscription_secret(subscription, actor=OPERATOR).secret

    assert new != old
    assert worker.signing_secrets(subscription.pk) == [new, old]
    old_row = SubscriptionSecret.objects.get(prefix=old[:10])
    assert timedelta(minutes=59) < old_row.expires_at - timezone.now() <= timedelta(hours=1)
    SubscriptionSecret.objects.filter(pk=old_row.pk).update(expires_at=timezone.now())
    assert worker.signing_secrets(subscription.pk) == [new]


AUDITED = {
    "create_subscription": "webhook_subscription_created",
    "update_subscription": "webhook_subscription_changed",
    "delete_subscription": "webhook_subscription_deleted",
    "rotate_subscription_secret": "webhook_secret_rotated",
    "send_test_event": "webhook_test_event_sent",
    "replay_delivery": "webhook_delivery_replayed",
    "dead_letter_delivery": "webhook_delivery_dead_lettered",
}
NOT_WRITES = {"validate_name", "validate_event_types"}


def test_every_webhook_service_is_listed_with_its_event():
    public = {
        name
        for name, value in vars(webhooks).items()
        if inspect.isfunction(value) and value.__module__ == webhooks.__name__ and not name.startswith("_")
    }
    assert public == set(AUDITED) | NOT_WRITES


def test_every_webhook_write_is_audited_with_its_actor(subscribe):
    operator = Actor("operator", "operator:alice", user_id=None)
    subscription, secret = webhooks.create_subscription(
        name="Alerts", url=URL, event_types=["client_created"], actor=operator
    )
    webhooks.update_subscription(
        subscription, actor=operator, name="Alerts 2", event_types=["client_deleted"]
    )
    webhooks.rotate_subscription_secret(subscription, actor=operator)
    test = webhooks.send_test_event(subscription, actor=operator)
    webhooks.replay_delivery(test, actor=operator)
    webhooks.dead_letter_delivery(test)
    webhooks.delete_subscription(subscription, actor=operator)

    events = list(AuditEvent.objects.order_by("pk").values_list("event_type", "actor_label"))
    assert events == [
        ("webhook_subscription_created", "operator:alice"),
        ("webhook_subscription_changed", "operator:alice"),
        ("webhook_secret_rotated", "operator:alice"),
        ("webhook_test_event_sent", "operator:alice"),
        ("webhook_delivery_replayed", "operator:alice"),
        ("webhook_delivery_dead_lettered", "system:webhooks"),
        ("webhook_subscription_deleted", "operator:alice"),
    ]
    changed = AuditEvent.objects.get(event_type="webhook_subscription_changed")
    assert changed.detail["changes"]["name"] == ["Alerts", "Alerts 2"]
    assert secret not in str(list(AuditEvent.objects.values_list("detail", flat=True)))
    assert not Delivery.objects.exists()  # deleted with the subscription


def test_a_change_that_changes_nothing_writes_nothing(subscribe):
    subscription, _ = subscribe(URL, event_types=["client_created"])
    assert webhooks.update_subscription(subscription, actor=OPERATOR, event_types=["client_created"]) == {}
    assert not AuditEvent.objects.filter(event_type="webhook_subscription_changed").exists()
    with pytest.raises(PolicyError):
        webhooks.update_subscription(subscription, actor=OPERATOR, secret="mine")


def test_a_test_event_goes_to_its_subscription_only(subscribe):
    one, _ = subscribe(URL, event_types=["client_created"])
    subscribe("https://other.example.com/", event_types=["client_created"])

    delivery = webhooks.send_test_event(one, actor=OPERATOR)

    assert list(Delivery.objects.all()) == [delivery]
    assert delivery.event_type == "webhook.test"
