"""The delivery worker's loop for one subscription: oldest pending message first, at least once.

- **In order.** Only the oldest pending delivery of a subscription is attempted; while it is
  failing (waiting for its retry) the later ones wait behind it, until it is delivered or
  dead-lettered.
- **One attempt at a time.** An attempt starts with a conditional UPDATE that claims the
  delivery for a lease (`claimed_until`) and counts the attempt; of two workers, one wins. The
  claim commits before the request is sent, so the request never holds a transaction open.
- **At least once.** A worker killed mid-attempt leaves a claim that lapses; the next task of
  the subscription (a new event, a retry, `resume_webhook_deliveries`) makes the attempt again.
  Receivers de-duplicate by `webhook-id`.
- **Retries.** A failed attempt (no answer in time, a non-2xx status, a redirect, an address the
  SSRF guard refuses) is retried after OAUTH2_WEBHOOK_RETRY_DELAY x 2^(attempts-1), at most
  OAUTH2_WEBHOOK_MAX_RETRY_DELAY, by a task enqueued with `run_after`; after
  OAUTH2_WEBHOOK_MAX_ATTEMPTS attempts it is dead-lettered (audited) and the line moves on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from oauth_console.metrics import registry as metrics
from oauth_console.webhooks import outbox, services, signing
from oauth_console.webhooks.models import Delivery, Subscription, SubscriptionSecret
from server import outbound
from server.conf import server_settings

logger = logging.getLogger("oauth_console.webhooks")
State = Delivery.State


@dataclass(frozen=True)
class Attempt:
    status: int | None
    latency_ms: int
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    base = server_settings.OAUTH2_WEBHOOK_RETRY_DELAY
    cap = server_settings.OAUTH2_WEBHOOK_MAX_RETRY_DELAY
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def lease() -> timedelta:
    """How long a claim lasts: longer than any attempt can take."""
    return timedelta(seconds=2 * server_settings.OAUTH2_WEBHOOK_TIMEOUT + 30)


def signing_secrets(subscription_id: int) -> list[str]:
    """The plain secrets that sign now, newest first (two during a rotation's overlap)."""
    now = timezone.now()
    rows = SubscriptionSecret.objects.filter(subscription_id=subscription_id).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return [signing.unseal(subscription_id, row.encrypted) for row in rows]


def _claim_head(subscription_id: int) -> Delivery | None:
    """The subscription's oldest pending delivery, claimed for one attempt; None when there is
    none, it waits for its retry, or another worker holds it."""
    if not Subscription.objects.filter(pk=subscription_id, is_active=True).exists():
        return None  # a paused subscription keeps its deliveries; re-enabling queues them
    now = timezone.now()
    line = Delivery.objects.filter(subscription_id=subscription_id, state=State.PENDING)
    head = line.order_by("pk").first()
    if head is None:
        return None
    if head.claimed_until is not None and head.claimed_until > now:
        return None  # another worker is attempting it, and goes on down the line after
    if head.next_attempt_at is not None and head.next_attempt_at > now:
        return None  # its retry is queued with run_after
    older = line.filter(pk__lt=OuterRef("pk"))
    claimed = (
        Delivery.objects.filter(pk=head.pk, state=State.PENDING, attempts=head.attempts)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .filter(~Exists(older))
        .update(claimed_until=now + lease(), attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if not claimed:
        return None
    head.refresh_from_db()
    return head


def attempt(delivery: Delivery) -> Attempt:
    """Send `delivery` once through the SSRF guard; never raises."""
    body = delivery.payload.encode()
    started = time.monotonic()
    try:
        headers = signing.headers(
            signing_secrets(delivery.subscription_id), delivery.message_id, int(time.time()), body
        )
        response = outbound.fetch(
            delivery.subscription.url,
            method="POST",
            body=body,
            headers=headers,
            max_bytes=server_settings.OAUTH2_WEBHOOK_MAX_RESPONSE_BYTES,
            timeout=server_settings.OAUTH2_WEBHOOK_TIMEOUT,
        )
    except outbound.OutboundError as error:
        return Attempt(None, _ms_since(started), str(error))
    except Exception as error:  # a secret that does not decrypt, a bug: the attempt failed
        logger.exception("Webhook delivery %s failed unexpectedly", delivery.pk)
        return Attempt(None, _ms_since(started), f"Internal error ({type(error).__name__}).")
    error = "" if 200 <= response.status < 300 else f"The receiver answered {response.status}."
    return Attempt(response.status, _ms_since(started), error)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record(delivery: Delivery, result: Attempt) -> bool:
    """Store how the attempt went; True when the line may go on (delivered or dead-lettered)."""
    now = timezone.now()
    mine = Delivery.objects.filter(pk=delivery.pk, state=State.PENDING, attempts=delivery.attempts)
    answer = {
        "claimed_until": None,
        "last_status_code": result.status,
        "last_latency_ms": result.latency_ms,
        "last_error": result.error[:300],
    }
    with transaction.atomic():
        if result.delivered:
            mine.update(state=State.DELIVERED, finished_at=now, next_attempt_at=None, **answer)
            outcome = "delivered"
        elif delivery.attempts >= server_settings.OAUTH2_WEBHOOK_MAX_ATTEMPTS:
            if mine.update(**answer):
                for field, value in answer.items():
                    setattr(delivery, field, value)  # the audit event tells how it last failed
                services.dead_letter_delivery(delivery)
            outcome = "dead_lettered"
        else:
            retry_at = now + retry_delay(delivery.attempts)
            if mine.update(next_attempt_at=retry_at, **answer):
                outbox.enqueue(delivery.subscription_id, run_after=retry_at)
            outcome = "failed"
    metrics.WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    return outcome != "failed"


def deliver_pending(subscription_id: int) -> str:
    """Attempt the subscription's due deliveries in order until one fails or none is left."""
    done = 0
    while (delivery := _claim_head(subscription_id)) is not None:
        result = attempt(delivery)
        done += 1
        if not _record(delivery, result):
            return f"{done} attempt(s); {delivery.message_id} is retried in {retry_delay(delivery.attempts)}"
    return f"{done} attempt(s)"


def resume_stalled() -> int:
    """Queue a task for every active subscription whose oldest pending delivery is due and not
    held by a live claim (a worker died mid-attempt, a task was lost); how many were queued."""
    now = timezone.now()
    due = (
        Delivery.objects.filter(state=State.PENDING, subscription__is_active=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    subscription_ids = sorted(set(due))
    with transaction.atomic():
        for subscription_id in subscription_ids:
            outbox.enqueue(subscription_id)
    return len(subscription_ids)
