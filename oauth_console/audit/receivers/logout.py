"""OpenID Connect logout events (`server.signals.user_logged_out`, `backchannel_logout_failed`):
recorders, each committing with the write it reports (the session's end and its queued
deliveries; a delivery given up). The OP session id is kept as a prefix, as credentials are:
enough to tell sessions apart, not the value the clients hold."""

from oauth_console.audit import recorder
from oauth_console.audit.models import EventType, Outcome
from oauth_console.audit.receivers.common import actor_fields, records

SID_PREFIX_LENGTH = 8


@records("user_logged_out")
def on_user_logged_out(
    sender,
    user_id=None,
    username="",
    sid="",
    clients=(),
    notified=(),
    initiated_by="",
    tokens_revoked=0,
    codes_expired=0,
    actor=None,
    at=None,
    **kwargs,
) -> None:
    recorder.record_with_fact(
        EventType.USER_LOGGED_OUT,
        client_id=initiated_by or "",
        at=at,
        detail={
            "sid_prefix": (sid or "")[:SID_PREFIX_LENGTH],
            "clients": list(clients),
            "notified": list(notified),
            "initiated_by": initiated_by or "",
            "tokens_revoked": tokens_revoked,
            "codes_expired": codes_expired,
        },
        **{**actor_fields(actor), "user_id": user_id, "username": username},
    )


@records("backchannel_logout_failed")
def on_backchannel_logout_failed(
    sender, client=None, sid="", sub="", attempts=0, error="", actor=None, at=None, **kwargs
) -> None:
    recorder.record_with_fact(
        EventType.BACKCHANNEL_LOGOUT_FAILED,
        outcome=Outcome.FAILURE,
        client_id=client.client_id,
        at=at,
        detail={
            "sid_prefix": (sid or "")[:SID_PREFIX_LENGTH],
            "sub": sub,
            "attempts": attempts,
            "error": error,
            "backchannel_logout_uri": client.backchannel_logout_uri,
        },
        **actor_fields(actor),
    )
