"""The outbox: a delivery row for each subscription that wants an event, written with the event.

Events that report a write of ours (`server.events.IN_TRANSACTION`) get a recorder: the rows,
and the task that sends them, are written inside the fact's transaction, so they commit with it
or not at all (a rolled-back client creation sends nothing; a crash after the commit loses no
delivery). The others (a refresh token reused, a throttle, the audit log failing its check)
report no write of ours; their rows are written when the event is heard, in a transaction of
their own, and a failure to write them is logged, never raised into the request.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from oauth_console.webhooks import catalogue, signing
from oauth_console.webhooks.models import Delivery, Subscription
from server import events, signals

logger = logging.getLogger("oauth_console.webhooks")


def body_of(event_type: str, data: dict, at: datetime) -> str:
    """The JSON body as sent and signed (compact, keys sorted: the same bytes every attempt)."""
    document = {"type": event_type, "timestamp": at.isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=True, default=str)


def enqueue(subscription_id: int, run_after: datetime | None = None) -> None:
    """Queue the task that delivers `subscription_id`'s pending messages (in this transaction)."""
    from oauth_console.webhooks.tasks import deliver_webhooks

    task = deliver_webhooks.using(run_after=run_after) if run_after else deliver_webhooks
    task.enqueue(subscription_id)


def subscribers(event_type: str) -> list[Subscription]:
    """The active subscriptions to `event_type` (one small query: few subscriptions exist)."""
    active = Subscription.objects.filter(is_active=True).only("pk", "event_types")
    return [s for s in active if event_type in (s.event_types or ())]


def write(
    event_type: str, data: dict, *, at: datetime | None = None, to: list[Subscription] | None = None
) -> list:
    """Write one delivery of this event for each subscription in `to` (default: every active
    one to it), and queue their tasks, in the current transaction. One message id for the event."""
    at = at or timezone.now()
    wanting = subscribers(event_type) if to is None else to
    if not wanting:
        return []
    message_id, body = signing.new_message_id(), body_of(event_type, data, at)
    rows = Delivery.objects.bulk_create(
        Delivery(subscription=s, message_id=message_id, event_type=event_type, payload=body, created_at=at)
        for s in wanting
    )
    for subscription in wanting:
        enqueue(subscription.pk)
    return rows


def _recorder(event_type: str):
    def record(sender: Any = None, **payload: Any) -> None:
        write(event_type, catalogue.data_of(event_type, payload), at=payload.get("at"))

    record.__name__ = f"record_{event_type}"
    return record


def _first_of_a_burst(payload: dict[str, Any]) -> bool:
    """Whether this throttle starts a burst: one delivery per limit, client and address while
    the throttle lasts, so that a flood of refused requests is one message, not a flood of
    deliveries (the audit log and the metrics still count each)."""
    what = f"{payload.get('limit')}\x00{payload.get('client_id')}\x00{payload.get('ip')}"
    key = "webhooks:throttled:" + hashlib.sha256(what.encode()).hexdigest()
    try:
        return caches["default"].add(key, 1, timeout=max(1, int(payload.get("retry_after") or 60)))
    except Exception:  # the cache is down: better a message too many than none
        return True


# Events a listener may skip (they repeat while one fact lasts), by their catalogue name.
_SKIP_UNLESS = {
    name: _first_of_a_burst
    for name, signal in catalogue.SIGNALS.items()
    if signal is signals.request_throttled
}


def _listener(event_type: str):
    def heard(sender: Any = None, signal: Any = None, **payload: Any) -> None:
        try:
            wanting = subscribers(event_type)
            if not wanting or (event_type in _SKIP_UNLESS and not _SKIP_UNLESS[event_type](payload)):
                return
            with transaction.atomic():
                write(event_type, catalogue.data_of(event_type, payload), at=payload.get("at"), to=wanting)
        except Exception:
            logger.exception("Could not write the webhook deliveries of %s", event_type)

    heard.__name__ = f"heard_{event_type}"
    return heard


_RECORDERS: dict[str, Any] = {}
_HEARD: dict[str, Any] = {}


def connect() -> None:
    """Register the recorders and listeners (WebhooksConfig.ready)."""
    for event_type, signal in catalogue.SIGNALS.items():
        if event_type in events.IN_TRANSACTION:
            events.add_recorder(event_type, _RECORDERS.setdefault(event_type, _recorder(event_type)))
        else:
            listener = _HEARD.setdefault(event_type, _listener(event_type))
            signal.connect(listener, dispatch_uid=f"webhooks.{event_type}")
