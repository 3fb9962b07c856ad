"""Logout: ending an OP session (which clients a sign-in reached is recorded with each code for
an ID token: `store_authorization_code`).

`end_browser_session` runs when the browser session logs out (any door: the end-session
endpoint, the site's sign-out, the admin's). In the logout's own transaction it ends the
session's client sessions, writes one back-channel delivery per client of that session with a
`backchannel_logout_uri` and queues its task (`services.backchannel_logout`), and, unless
OAUTH2_LOGOUT_REVOKES_TOKENS is off, revokes the tokens issued in that session and expires its
unredeemed codes (one UPDATE each).
The clients with a `frontchannel_logout_uri` are returned for the logout page's iframes.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from server import signals
from server.actors import Actor
from server.conf import server_settings
from server.hotpath import locks, sql
from server.models import AuthorizationCode, Client, ClientSession, Token
from server.services import backchannel_logout
from server.services._after_commit import send_after_commit
from server.services.codes_and_consent import _expire_unredeemed
from server.services.tokens import _stamp_revoked

REVOKED_REASON = "signed out (OpenID Connect session ended)"


@dataclass(frozen=True)
class EndedSession:
    """What ending a session did: its clients, those notified on the back channel, those to load
    in the logout page's iframes (Front-Channel Logout), how many tokens were revoked."""

    sid: str = ""
    clients: list[Client] = field(default_factory=list)
    notified: list[Client] = field(default_factory=list)
    frontchannel: list[Client] = field(default_factory=list)
    tokens_revoked: int = 0


def _session_tokens(*, sid: str, user) -> QuerySet[Token]:
    """The tokens issued in OP session `sid` of `user` (the code flow's with `openid`, and their
    refreshes): those a logout of that session revokes."""
    return Token.objects.filter(user=user, sid=sid)


def _end_session_credentials(*, sid: str, user, client_pks: list[int], actor: Actor) -> tuple[int, int]:
    """Revoke the session's tokens (one UPDATE) and expire its unredeemed codes (one UPDATE);
    (tokens revoked, codes expired). The session's clients are locked first, all in one go (in
    key order, `server.hotpath.locks`): a code of this session being redeemed meanwhile either
    commits its token first, and the UPDATE revokes it, or then finds its code expired."""
    tokens = _session_tokens(sid=sid, user=user)
    locks.hold_clients_for_revocation(Q(pk__in=client_pks) | Q(pk__in=tokens.order_by().values("client_id")))
    revoked = _stamp_revoked(tokens, actor=actor, reason=REVOKED_REASON, at=sql.database_now())
    codes = _expire_unredeemed(AuthorizationCode.objects.filter(user=user, sid=sid))
    return revoked, codes


def end_browser_session(
    *, sid: str | None, user, actor: Actor, issuer: str, initiated_by: Client | None = None
) -> EndedSession:
    """End OP session `sid` of `user`: its client sessions end, every client of it with a
    back-channel logout URI (and still active) gets a logout token from the task worker, and
    its tokens are revoked when OAUTH2_LOGOUT_REVOKES_TOKENS is on. Sends `user_logged_out`
    (the session's clients, those notified, the client that asked when it was RP-initiated,
    how many tokens were revoked and codes expired): the one event of the logout. `issuer` is the `iss` of the
    logout tokens and front-channel requests."""
    now = timezone.now()
    with transaction.atomic():
        rows: list[ClientSession] = []
        revoked = codes_expired = 0
        if sid:
            rows = list(
                ClientSession.objects.select_related("client")
                .select_for_update(of=("self",))
                .filter(sid=sid, user=user, ended_at__isnull=True)
                .order_by("pk")
            )
            ClientSession.objects.filter(pk__in=[row.pk for row in rows]).update(ended_at=now)
            if server_settings.OAUTH2_LOGOUT_REVOKES_TOKENS:
                revoked, codes_expired = _end_session_credentials(
                    sid=sid, user=user, client_pks=[row.client_id for row in rows], actor=actor
                )
        live = [row for row in rows if row.client.is_active]
        notified = [row for row in live if row.client.backchannel_logout_uri]
        backchannel_logout.enqueue_deliveries(notified, issuer=issuer)
        clients = [row.client for row in rows]
        send_after_commit(
            signals.user_logged_out,
            user_id=user.pk,
            username=user.get_username(),
            sid=sid or "",
            clients=[c.client_id for c in clients],
            notified=[row.client.client_id for row in notified],
            initiated_by=initiated_by.client_id if initiated_by is not None else "",
            tokens_revoked=revoked,
            codes_expired=codes_expired,
            actor=actor,
            at=now,
        )
    return EndedSession(
        sid=sid or "",
        clients=clients,
        notified=[row.client for row in notified],
        frontchannel=[row.client for row in live if row.client.frontchannel_logout_uri],
        tokens_revoked=revoked,
    )
