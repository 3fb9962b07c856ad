"""Logout: ending an OP session (which clients a sign-in reached is recorded with each code for
an ID token: `store_authorization_code`).

`end_browser_session` runs when the browser session logs out (any door: the end-session
endpoint, the site's sign-out, the admin's) and enqueues one back-channel delivery per client of
that session with a `backchannel_logout_uri`, in the logout's own transaction (the task rows
commit with the fact they report: `services.backchannel_logout`).
"""

from django.db import transaction
from django.utils import timezone

from server import signals
from server.actors import Actor
from server.models import Client, ClientSession
from server.services import backchannel_logout
from server.services._after_commit import send_after_commit


def end_browser_session(
    *, sid: str | None, user, actor: Actor, issuer: str, initiated_by: Client | None = None
) -> list[Client]:
    """End OP session `sid` of `user`: its client sessions end, and every client of it with a
    back-channel logout URI (and still active) gets a logout token from the task worker.
    Returns those clients. Sends `user_logged_out` (the session's clients, those notified, the
    client that asked when it was RP-initiated). `issuer` is the `iss` of the logout tokens."""
    now = timezone.now()
    with transaction.atomic():
        rows = []
        if sid:
            rows = list(
                ClientSession.objects.select_related("client")
                .select_for_update(of=("self",))
                .filter(sid=sid, user=user, ended_at__isnull=True)
                .order_by("pk")
            )
            ClientSession.objects.filter(pk__in=[row.pk for row in rows]).update(ended_at=now)
        clients = [row.client for row in rows]
        notified = [c for c in clients if c.backchannel_logout_uri and c.is_active]
        for client in notified:
            backchannel_logout.enqueue_delivery(client=client, user=user, sid=sid, issuer=issuer)
        send_after_commit(
            signals.user_logged_out,
            user_id=user.pk,
            username=user.get_username(),
            sid=sid or "",
            clients=[c.client_id for c in clients],
            notified=[c.client_id for c in notified],
            initiated_by=initiated_by.client_id if initiated_by is not None else "",
            actor=actor,
            at=now,
        )
    return notified
