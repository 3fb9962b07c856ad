"""Webhook subscriptions, their signing secrets, and the deliveries (the outbox).

A subscription names an https endpoint and the event types it wants. Its secrets sign every
delivery (Standard Webhooks: `webhook-signature`); a secret is used, not only compared, so it is
stored encrypted (`server.key_crypto.seal`), shown once when made and never again. A rotation
adds a secret and lets the older ones sign too until they expire (the overlap).

A delivery is one message to one subscription: written in the transaction of the event it
reports (the outbox), then sent by the task worker, oldest first per subscription, until it is
delivered or dead-lettered. A replay is a new delivery of the same message (same `webhook-id`).
"""

from django.db import models
from django.utils import timezone

MAX_EVENT_TYPES = 64
MAX_NAME_LENGTH = 100


class Subscription(models.Model):
    """An operator's https endpoint, subscribed to event types of the catalogue."""

    name = models.CharField(max_length=MAX_NAME_LENGTH, help_text="What the endpoint is, for people.")
    url = models.CharField("URL", max_length=500)
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["name", "pk"]
        permissions = [("manage_webhooks", "Can subscribe, change and replay webhooks")]

    def __str__(self) -> str:
        return self.name


class SubscriptionSecret(models.Model):
    """One signing secret (`whsec_...`), encrypted; signing while unexpired."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="secrets")
    encrypted = models.TextField()
    prefix = models.CharField(max_length=16)  # shown in the console: "whsec_AbCd"
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.prefix}…"


class Delivery(models.Model):
    """One message for one subscription, and how its delivery went (the last attempt's answer)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead-lettered"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=40)  # `webhook-id`: a replay keeps it
    event_type = models.CharField(max_length=64)
    payload = models.TextField()  # the JSON body, byte for byte as signed and sent
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim on the attempt it is making; a claim that outlives it (the worker was
    # killed mid-delivery) lapses, and the delivery is made again: at least once.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["subscription", "state", "id"], name="webhooks_delivery_line")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"
