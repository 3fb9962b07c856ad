"""Which clients a browser sign-in reached, re-exported by `server.models` (import it from there).

OpenID Connect Back-Channel Logout 1.0 §2.1: each sign-in at the OP is a session with an id
(`sid`, kept in the Django session and put in the ID tokens it leads to). A row here says that
`client` was given a code for an ID token in session `sid`, so logging that session out notifies
exactly those clients, not every client the user ever used.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from server.client_model import Client

# The length of a session id (server.oauth2.logout.new_session_id: 32 random bytes, base64url).
MAX_SID_LENGTH = 64


class ClientSession(models.Model):
    """A client signed in to through one OP session (`sid`). Ended when that session logs out."""

    sid = models.CharField(max_length=MAX_SID_LENGTH)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="sessions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sid", "client"], name="server_client_session_once")]
        indexes = [models.Index(fields=["user", "ended_at"], name="server_clientsess_user_end")]

    def __str__(self) -> str:
        return f"session {self.sid[:8]}… of {self.client_id}"


class BackchannelDelivery(models.Model):
    """One client's back-channel logout of one ended session (Back-Channel Logout 1.0 §2.7): the
    delivery's own state, so that it is sent at least once. An attempt claims the row for a lease
    (`claimed_until`) and counts itself; a worker killed mid-attempt leaves a claim that lapses,
    and `manage.py resume_deliveries` queues it again (`services.backchannel_logout`)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Given up"
        SKIPPED = "skipped", "Skipped (the client was disabled or dropped its URI)"

    session = models.OneToOneField(ClientSession, on_delete=models.CASCADE, related_name="backchannel")
    # The `iss` of its logout tokens: the issuer the logout request was served as.
    issuer = models.CharField(max_length=2000)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # `resume_deliveries` reads the pending ones only; the others are history.
        indexes = [
            models.Index(
                fields=["claimed_until"],
                name="server_bcl_pending",
                condition=models.Q(state="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"back-channel logout of {self.session}"
