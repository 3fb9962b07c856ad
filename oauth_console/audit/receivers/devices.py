"""Device-flow events (RFC 8628, `server.signals.device_*`): a device's request, the user's
decision, revocations are recorders (each commits with the write it reports); a refused user
code reports no write and stays a signal receiver. The codes themselves are never in a payload:
a device authorization is named by its row id and its device code's display prefix."""

from django.dispatch import receiver

from oauth_console.audit import recorder
from oauth_console.audit.models import ActorKind, EventType, Outcome
from oauth_console.audit.receivers.common import actor_fields, client_actor, guarded, records, user_fields
from server import signals as server_signals


def _device_detail(device_authorization, scope) -> dict:
    detail = {
        "device_authorization_id": device_authorization.pk,
        "device_code_prefix": device_authorization.device_code_prefix,
        "scope": scope or "",
    }
    audience = getattr(device_authorization, "audience", "")
    if audience:
        # The APIs (RFC 8707) the device asked for; none: this server's own, as before.
        detail["audience"] = audience.split()
    return detail


@records("device_authorization_requested")
def on_device_authorization_requested(
    sender, client=None, device_authorization=None, scope="", actor=None, at=None, **kwargs
) -> None:
    detail = {
        **_device_detail(device_authorization, scope),
        "expires_at": device_authorization.expires_at.isoformat(),
        "interval": device_authorization.interval,
    }
    recorder.record_with_fact(
        EventType.DEVICE_AUTHORIZATION_REQUESTED,
        client_id=client.client_id,
        at=at,
        detail=detail,
        **client_actor(client.client_id),
    )


def _decision(event_type, client, user, device_authorization, scope, actor, at) -> None:
    recorder.record_with_fact(
        event_type,
        outcome=Outcome.SUCCESS if event_type == EventType.DEVICE_AUTHORIZATION_APPROVED else Outcome.FAILURE,
        client_id=client.client_id,
        at=at,
        detail=_device_detail(device_authorization, scope),
        **{**user_fields(user), **actor_fields(actor)},
    )


@records("device_authorization_approved")
def on_device_authorization_approved(
    sender, client=None, user=None, device_authorization=None, scope="", actor=None, at=None, **kwargs
) -> None:
    _decision(EventType.DEVICE_AUTHORIZATION_APPROVED, client, user, device_authorization, scope, actor, at)


@records("device_authorization_denied")
def on_device_authorization_denied(
    sender, client=None, user=None, device_authorization=None, scope="", actor=None, at=None, **kwargs
) -> None:
    _decision(EventType.DEVICE_AUTHORIZATION_DENIED, client, user, device_authorization, scope, actor, at)


@records("device_authorizations_revoked")
def on_device_authorizations_revoked(
    sender, count=0, reason="", criteria=None, actor=None, at=None, **kwargs
) -> None:
    criteria = dict(criteria or {})
    client_id = criteria.get("client_id") if isinstance(criteria.get("client_id"), str) else ""
    recorder.record_with_fact(
        EventType.DEVICE_AUTHORIZATIONS_REVOKED,
        client_id=client_id,
        at=at,
        detail={"count": count, "reason": reason, "criteria": criteria},
        **actor_fields(actor),
    )


@receiver(server_signals.user_code_refused, dispatch_uid="audit.user_code_refused")
@guarded
def on_user_code_refused(sender, request=None, user=None, reason="", **kwargs) -> None:
    # What was typed is not kept: a near miss of a live code would help the next guesser.
    person = user_fields(user)
    recorder.record(
        EventType.USER_CODE_REFUSED,
        outcome=Outcome.FAILURE,
        request=request,
        detail={"reason": reason},
        actor_kind=ActorKind.USER if person else ActorKind.ANONYMOUS,
        actor_label=f"user:{person['username']}" if person else "anonymous",
        **person,
    )
