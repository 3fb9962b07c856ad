"""Webhook events (`server.signals.webhook_*`): subscriptions made, changed, deleted, their
secrets rotated, test events and replays an operator asked for, and deliveries the worker gave
up on. Recorders (`records`): each commits with the change it reports. A secret never appears:
a subscription is named by id, name and URL."""

from oauth_console.audit import recorder
from oauth_console.audit.models import EventType, Outcome
from oauth_console.audit.receivers.common import actor_fields, records


def _subscription(subscription) -> dict:
    return {"subscription_id": subscription.pk, "name": subscription.name, "url": subscription.url}


def _delivery(delivery) -> dict:
    return {
        "delivery_id": delivery.pk,
        "message_id": delivery.message_id,
        "event_type": delivery.event_type,
        "attempts": delivery.attempts,
    }


@records("webhook_subscription_created")
def on_subscription_created(sender, subscription=None, actor=None, at=None, **kwargs) -> None:
    detail = {**_subscription(subscription), "event_types": list(subscription.event_types)}
    recorder.record_with_fact(
        EventType.WEBHOOK_SUBSCRIPTION_CREATED, at=at, detail=detail, **actor_fields(actor)
    )


@records("webhook_subscription_changed")
def on_subscription_changed(sender, subscription=None, changes=None, actor=None, at=None, **kwargs) -> None:
    detail = {**_subscription(subscription), "changes": changes or {}}
    recorder.record_with_fact(
        EventType.WEBHOOK_SUBSCRIPTION_CHANGED, at=at, detail=detail, **actor_fields(actor)
    )


@records("webhook_subscription_deleted")
def on_subscription_deleted(
    sender, subscription_id=None, url="", pending=0, actor=None, at=None, **kwargs
) -> None:
    detail = {"subscription_id": subscription_id, "url": url, "pending_dropped": pending}
    recorder.record_with_fact(
        EventType.WEBHOOK_SUBSCRIPTION_DELETED, at=at, detail=detail, **actor_fields(actor)
    )


@records("webhook_secret_rotated")
def on_secret_rotated(
    sender, subscription=None, previous_expires_at=None, actor=None, at=None, **kwargs
) -> None:
    detail = {
        **_subscription(subscription),
        "previous_expires_at": previous_expires_at.isoformat() if previous_expires_at else None,
    }
    recorder.record_with_fact(EventType.WEBHOOK_SECRET_ROTATED, at=at, detail=detail, **actor_fields(actor))


@records("webhook_test_event_sent")
def on_test_event_sent(sender, subscription=None, delivery=None, actor=None, at=None, **kwargs) -> None:
    detail = {**_subscription(subscription), **_delivery(delivery)}
    recorder.record_with_fact(EventType.WEBHOOK_TEST_EVENT_SENT, at=at, detail=detail, **actor_fields(actor))


@records("webhook_delivery_replayed")
def on_delivery_replayed(
    sender, subscription=None, delivery=None, replay_of=None, actor=None, at=None, **kwargs
) -> None:
    detail = {**_subscription(subscription), **_delivery(delivery), "replay_of": replay_of.pk}
    recorder.record_with_fact(
        EventType.WEBHOOK_DELIVERY_REPLAYED, at=at, detail=detail, **actor_fields(actor)
    )


@records("webhook_delivery_dead_lettered")
def on_delivery_dead_lettered(
    sender, subscription=None, delivery=None, actor=None, at=None, **kwargs
) -> None:
    detail = {
        **_subscription(subscription),
        **_delivery(delivery),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
    }
    recorder.record_with_fact(
        EventType.WEBHOOK_DELIVERY_DEAD_LETTERED,
        outcome=Outcome.FAILURE,
        at=at,
        detail=detail,
        **actor_fields(actor),
    )
