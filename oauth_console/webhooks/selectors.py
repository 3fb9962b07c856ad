"""Reads of the webhooks' tables that more than one door shows (the console pages, the API)."""

from django.db.models import QuerySet

from oauth_console.webhooks.models import Delivery, Subscription


def recent_deliveries(subscription: Subscription, *, state: str = "") -> QuerySet[Delivery]:
    """A subscription's deliveries, newest first, without their bodies (a list never shows them);
    only those in `state` when one is given."""
    found = subscription.deliveries.defer("payload").order_by("-pk")
    return found.filter(state=state) if state else found


def pending_count(subscription: Subscription) -> int:
    """How many of its deliveries are still to be sent (what deleting it would drop)."""
    return subscription.deliveries.filter(state=Delivery.State.PENDING).count()
