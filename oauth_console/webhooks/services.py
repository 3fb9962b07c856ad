"""Every write to webhook subscriptions: subscribe, change, delete, rotate the secret, send a
test event, replay a delivery, dead-letter one. Each is one transaction and one event of the
catalogue (`server.events.emit`: the audit log records it with the write).

The subscription's URL passes the one policy (`server.policies.validate_webhook_url`), its
event types must be in `catalogue.EVENTS`; a refusal raises `PolicyError` before anything is
written. A new secret is returned once, by `create_subscription` and `rotate_subscription_secret`,
and never stored in clear.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from oauth_console.webhooks import catalogue, outbox, selectors, signing
from oauth_console.webhooks.models import (
    MAX_EVENT_TYPES,
    MAX_NAME_LENGTH,
    Delivery,
    Subscription,
    SubscriptionSecret,
)
from server import events, policies, signals
from server.actors import Actor
from server.conf import server_settings

EDITABLE_FIELDS = ("name", "url", "event_types", "is_active")
WORKER = Actor.system("webhooks")


def _emit(signal, **payload: Any) -> None:
    events.emit(signal, sender=Subscription, **payload)


def validate_name(name: str) -> str:
    """The display-name rule every name people are shown passes (server.policy_rules)."""
    return policies.validate_display_name(name, label="A webhook's name", max_length=MAX_NAME_LENGTH)


def validate_event_types(event_types: Any) -> list[str]:
    if not isinstance(event_types, list | tuple) or not all(isinstance(e, str) for e in event_types):
        raise policies.PolicyError("Event types are a list of names.", field="event_types")
    chosen = list(dict.fromkeys(event_types))
    unknown = [name for name in chosen if name not in catalogue.EVENTS]
    if unknown:
        raise policies.PolicyError(
            f"Unknown event type(s): {', '.join(sorted(unknown))[:200]}.", field="event_types"
        )
    if not chosen or len(chosen) > MAX_EVENT_TYPES:
        raise policies.PolicyError("Subscribe to at least one event type.", field="event_types")
    return chosen


def _add_secret(subscription: Subscription, now: datetime) -> str:
    secret = signing.new_secret()
    SubscriptionSecret.objects.create(
        subscription=subscription,
        encrypted=signing.seal(subscription.pk, secret),
        prefix=secret[: signing.SHOWN_PREFIX_LENGTH],
        created_at=now,
    )
    return secret


def create_subscription(
    *, name: str, url: str, event_types: list[str], actor: Actor, is_active: bool = True
) -> tuple[Subscription, str]:
    """Subscribe `url` to `event_types`; (the subscription, its signing secret, shown once)."""
    name, url = validate_name(name), policies.validate_webhook_url(url)
    event_types = validate_event_types(event_types)
    now = timezone.now()
    with transaction.atomic():
        subscription = Subscription.objects.create(
            name=name,
            url=url,
            event_types=event_types,
            is_active=bool(is_active),
            created_at=now,
            updated_at=now,
            created_by=actor.label[:200],
        )
        secret = _add_secret(subscription, now)
        _emit(signals.webhook_subscription_created, subscription=subscription, actor=actor, at=now)
    return subscription, secret


def update_subscription(subscription: Subscription, *, actor: Actor, **changes: Any) -> dict:
    """Change name, url, event_types or is_active; {field: [old, new]} of what changed.
    Re-enabling a subscription queues its waiting deliveries."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise policies.PolicyError(f"Not a webhook setting: {', '.join(sorted(unknown))}.")
    cleaners = {
        "name": validate_name,
        "url": policies.validate_webhook_url,
        "event_types": validate_event_types,
        "is_active": bool,
    }
    cleaned = {field: cleaners[field](value) for field, value in changes.items()}
    diff = {
        field: [getattr(subscription, field), value]
        for field, value in cleaned.items()
        if getattr(subscription, field) != value
    }
    if not diff:
        return {}
    now = timezone.now()
    with transaction.atomic():
        for field, (_old, new) in diff.items():
            setattr(subscription, field, new)
        subscription.updated_at = now
        subscription.save(update_fields=[*diff, "updated_at"])
        if diff.get("is_active") == [False, True]:
            outbox.enqueue(subscription.pk)
        _emit(
            signals.webhook_subscription_changed, subscription=subscription, changes=diff, actor=actor, at=now
        )
    return diff


def delete_subscription(subscription: Subscription, *, actor: Actor) -> int:
    """Delete the subscription, its secrets and deliveries; how many pending ones were dropped."""
    now = timezone.now()
    with transaction.atomic():
        pending = selectors.pending_count(subscription)
        subscription_id, url = subscription.pk, subscription.url
        subscription.delete()
        _emit(
            signals.webhook_subscription_deleted,
            subscription_id=subscription_id,
            url=url,
            pending=pending,
            actor=actor,
            at=now,
        )
    return pending


class RotatedSigningSecret(NamedTuple):
    """A rotation's new signing secret (show it once) and when the older ones stop signing."""

    secret: str
    previous_expires_at: datetime


def rotate_subscription_secret(subscription: Subscription, *, actor: Actor) -> RotatedSigningSecret:
    """A new signing secret (returned once); the older ones keep signing for
    OAUTH2_WEBHOOK_SECRET_OVERLAP seconds, so every delivery carries both signatures meanwhile."""
    now = timezone.now()
    until = now + timedelta(seconds=server_settings.OAUTH2_WEBHOOK_SECRET_OVERLAP)
    with transaction.atomic():
        older = SubscriptionSecret.objects.filter(subscription=subscription)
        older.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=until)).update(expires_at=until)
        secret = _add_secret(subscription, now)
        _emit(
            signals.webhook_secret_rotated,
            subscription=subscription,
            previous_expires_at=until,
            actor=actor,
            at=now,
        )
    return RotatedSigningSecret(secret, until)


def send_test_event(subscription: Subscription, *, actor: Actor) -> Delivery:
    """Queue a `webhook.test` message for this subscription alone (whatever it subscribes to)."""
    now = timezone.now()
    with transaction.atomic():
        data = {"subscription": subscription.name, "actor": actor.label}
        (delivery,) = outbox.write(catalogue.TEST_EVENT, data, at=now, to=[subscription])
        _emit(
            signals.webhook_test_event_sent, subscription=subscription, delivery=delivery, actor=actor, at=now
        )
    return delivery


def replay_delivery(delivery: Delivery, *, actor: Actor) -> Delivery:
    """Queue the same message again (same webhook-id and body), after the subscription's pending
    ones: receivers that processed it already recognise it by its id."""
    now = timezone.now()
    with transaction.atomic():
        replay = Delivery.objects.create(
            subscription_id=delivery.subscription_id,
            message_id=delivery.message_id,
            event_type=delivery.event_type,
            payload=delivery.payload,
            created_at=now,
            replay_of=delivery,
        )
        outbox.enqueue(delivery.subscription_id)
        _emit(
            signals.webhook_delivery_replayed,
            subscription=delivery.subscription,
            delivery=replay,
            replay_of=delivery,
            actor=actor,
            at=now,
        )
    return replay


def dead_letter_delivery(delivery: Delivery, *, actor: Actor = WORKER) -> None:
    """Give up on a delivery (its attempts are spent): the line of its subscription moves on."""
    now = timezone.now()
    with transaction.atomic():
        changed = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.PENDING).update(
            state=Delivery.State.DEAD, finished_at=now, next_attempt_at=None, claimed_until=None
        )
        if changed:
            delivery.state, delivery.finished_at = Delivery.State.DEAD, now
            _emit(
                signals.webhook_delivery_dead_lettered,
                subscription=delivery.subscription,
                delivery=delivery,
                actor=actor,
                at=now,
            )
