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
