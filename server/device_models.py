"""Device authorizations (RFC 8628), written by `server.services.device_codes`.

One row per device authorization request. The device code and the user code are stored only as
keyed digests (`server.credentials`), like every other credential; the console tells rows apart
by the device code's display prefix. A row's life: *pending* until the user answers at /device,
then *approved* (with the user and the scope they saw) or *denied* (by the user, or revoked by
an operator or by the user's withdrawn consent); an approved row becomes *redeemed* when the
device's poll claims its one token. Rows are kept until `cleartokens` removes expired ones.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class DeviceAuthorization(models.Model):
    """A device's request for access (RFC 8628 §3.1) and the user's decision about it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the user"
        APPROVED = "approved", "Approved (token not yet collected)"
        DENIED = "denied", "Denied or revoked"
        REDEEMED = "redeemed", "Approved, token issued"

    device_code_digest = models.CharField(max_length=64, unique=True)
    device_code_prefix = models.CharField(max_length=16)
    # Of the normalised user code (no dash, upper case).
    user_code_digest = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(
        "server.Client", on_delete=models.CASCADE, related_name="device_authorizations"
    )
    # Resolved at the request (the authorization endpoint's rule); what the consent page shows and
    # the token gets.
    scope = models.TextField(blank=True, default="")
    # The RFC 8707 resources the device named (identifiers, space-separated), resolved at the
    # request as at /oauth/authorize; empty: the default API. The token's audience.
    audience = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    interval = models.PositiveIntegerField(default=5)
    # The earliest the next poll is on time; each poll moves it (a NULL: not polled yet).
    next_poll_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client", "-created_at"], name="device_client_created")]

    def __str__(self) -> str:
        return f"{self.device_code_prefix}…"

    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_open(self) -> bool:
        """Still able to give a token: waiting for the user, or approved and not collected."""
        return self.status in (self.Status.PENDING, self.Status.APPROVED) and not self.is_expired()

    # --- what server.oauth2.device reads -------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_status(self) -> str:
        return self.status

    def get_user(self):
        return self.user

    def get_audience(self) -> list[str]:
        return self.audience.split()
