"""The API's own bookkeeping: Idempotency-Key records (`oauth_console.api.idempotency`).

Not a fact of the authorization server (no event, no service): a record only lets a retried
create answer as the first one did. It never holds a secret: the one-time values of a create's
answer are removed before the answer is kept.
"""

from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """One create answered under an Idempotency-Key, per caller, kept for 24 hours."""

    caller = models.CharField(max_length=200)  # the actor's label: "client:abc", "operator:alice"
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and canonical JSON body: the same key with another body is 422.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="api_idempotency_caller_key")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"
