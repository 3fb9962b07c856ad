"""Service events, from `server.signals` (each carries the actor and the time).

Each is a recorder (`records`): `server.events.emit` runs it inside the service's transaction,
so the event commits with the write it reports. `request_throttled` reports no write (a throttle
refuses a request) and stays a signal receiver."""

from typing import Any

from django.dispatch import receiver

from oauth_console.audit import recorder
from oauth_console.audit.models import EventType, Outcome
from oauth_console.audit.receivers.common import actor_fields, guarded, records, user_fields
from server import signals as server_signals

# Keys of a client's changes that must never reach the log, whatever a caller puts there.
SECRET_MARKERS = ("secret", "digest", "password", "token")


def _client_summary(client) -> dict[str, Any]:
    return {
        "name": client.name,
        "client_type": client.client_type,
        "status": client.status,
        "source": client.source,
        "grant_types": client.grant_types,
        "scope": client.scope,
        "redirect_uris": client.redirect_uri_list,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
    }


@records("client_created")
def on_client_created(sender, client=None, actor=None, at=None, **kwargs) -> None:
    # `secret` is in kwargs and deliberately never looked at.
    recorder.record_with_fact(
        EventType.CLIENT_CREATED,
        client_id=client.client_id,
        at=at,
        detail=_client_summary(client),
        **actor_fields(actor),
    )


@records("client_changed")
def on_client_changed(sender, client=None, changes=None, actor=None, at=None, review=None, **kwargs) -> None:
    safe = {
        field: change
        for field, change in (changes or {}).items()
        if not any(marker in field.lower() for marker in SECRET_MARKERS)
    }
    detail = {"changes": safe, **({"review": review} if review else {})}
    recorder.record_with_fact(
        EventType.CLIENT_CHANGED,
        client_id=client.client_id,
        at=at,
        detail=detail,
        **actor_fields(actor),
    )


def status_event_type(old_status: str, new_status: str) -> str:
    """The event a status change is: approved, rejected, disabled, enabled (or just changed)."""
    if new_status == "active":
        return EventType.CLIENT_APPROVED if old_status == "pending" else EventType.CLIENT_ENABLED
    return {
        "disabled": EventType.CLIENT_DISABLED,
        "rejected": EventType.CLIENT_REJECTED,
    }.get(new_status, EventType.CLIENT_CHANGED)


@records("client_status_changed")
def on_client_status_changed(
    sender, client=None, old_status=None, new_status=None, reason="", actor=None, at=None, **kwargs
) -> None:
    recorder.record_with_fact(
        status_event_type(old_status, new_status),
        client_id=client.client_id,
        at=at,
        detail={"old_status": old_status, "new_status": new_status, "reason": reason},
        **actor_fields(actor),
    )


@records("client_deleted")
def on_client_deleted(
    sender, client_id=None, name=None, tokens_revoked=0, actor=None, at=None, **kwargs
) -> None:
    recorder.record_with_fact(
        EventType.CLIENT_DELETED,
        client_id=client_id,
        at=at,
        detail={"name": name, "active_tokens_deleted": tokens_revoked},
        **actor_fields(actor),
    )


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


@records("client_secret_rotated")
def on_client_secret_rotated(
    sender, client=None, secret=None, previous_expires_at=None, actor=None, at=None, **kwargs
) -> None:
    recorder.record_with_fact(
        EventType.CLIENT_SECRET_ROTATED,
        client_id=client.client_id,
        at=at,
        detail={
            "new_secret_id": secret.pk,
            "new_secret_prefix": secret.prefix,
            "previous_secrets_expire_at": _iso(previous_expires_at),
        },
        **actor_fields(actor),
    )


@records("client_secret_expired")
def on_client_secret_expired(sender, client=None, secret=None, actor=None, at=None, **kwargs) -> None:
    recorder.record_with_fact(
        EventType.CLIENT_SECRET_EXPIRED,
        client_id=client.client_id,
        at=at,
        detail={"secret_id": secret.pk, "secret_prefix": secret.prefix},
        **actor_fields(actor),
    )


def _client_of(criteria: dict, actor) -> str:
    """The client a bulk write's criteria name, else the client that acted, else ""."""
    client_id = criteria.get("client_id") if isinstance(criteria.get("client_id"), str) else ""
    if not client_id and actor is not None and actor.kind == "client":
        client_id = actor.client_id or ""
    return client_id


@records("tokens_revoked")
def on_tokens_revoked(sender, count=0, reason="", criteria=None, actor=None, at=None, **kwargs) -> None:
    # A bulk or family revocation; an RFC 7009 one arrives as the spec's `token_revoked` alone.
    criteria = dict(criteria or {})
    recorder.record_with_fact(
        EventType.TOKENS_REVOKED,
        client_id=_client_of(criteria, actor),
        at=at,
        detail={"count": count, "reason": reason, "criteria": criteria},
        **actor_fields(actor),
    )


@records("authorization_codes_expired")
def on_authorization_codes_expired(
    sender, count=0, reason="", criteria=None, actor=None, at=None, **kwargs
) -> None:
    criteria = dict(criteria or {})
    recorder.record_with_fact(
        EventType.AUTHORIZATION_CODES_EXPIRED,
        client_id=_client_of(criteria, actor),
        at=at,
        detail={"count": count, "reason": reason, "criteria": criteria},
        **actor_fields(actor),
    )


@records("registration_access_token_issued")
def on_registration_access_token_issued(
    sender, client=None, replaced=False, actor=None, at=None, **kwargs
) -> None:
    # The token itself is never in the signal's payload, and so never here.
    recorder.record_with_fact(
        EventType.REGISTRATION_ACCESS_TOKEN_ISSUED,
        client_id=client.client_id,
        at=at,
        detail={"replaced": bool(replaced)},
        **actor_fields(actor),
    )


@records("consent_revoked")
def on_consent_revoked(
    sender, client=None, user=None, tokens_revoked=0, codes_expired=0, actor=None, at=None, **kwargs
) -> None:
    recorder.record_with_fact(
        EventType.CONSENT_REVOKED,
        client_id=client.client_id,
        at=at,
        detail={"tokens_revoked": tokens_revoked, "codes_expired": codes_expired},
        **{**actor_fields(actor), **user_fields(user)},
    )


@records("user_access_revoked")
def on_user_access_revoked(
    sender,
    user_id=None,
    username="",
    reason="",
    tokens_revoked=0,
    codes_voided=0,
    actor=None,
    at=None,
    **kwargs,
) -> None:
    # The user's id and name, not the instance: a deleted user's instance has no pk by now.
    recorder.record_with_fact(
        EventType.USER_ACCESS_REVOKED,
        at=at,
        detail={"reason": reason, "tokens_revoked": tokens_revoked, "codes_voided": codes_voided},
        **{**actor_fields(actor), "user_id": user_id, "username": username},
    )


@records("initial_access_token_created")
def on_initial_access_token_created(sender, initial_access_token=None, actor=None, at=None, **kwargs) -> None:
    row = initial_access_token
    recorder.record_with_fact(
        EventType.INITIAL_ACCESS_TOKEN_CREATED,
        at=at,
        detail={
            "initial_access_token_id": row.pk,
            "prefix": row.prefix,
            "description": row.description,
            "max_registrations": row.max_registrations,
            "expires_at": _iso(row.expires_at),
        },
        **actor_fields(actor),
    )


@receiver(server_signals.request_throttled, dispatch_uid="audit.request_throttled")
@guarded
def on_request_throttled(
    sender,
    request=None,
    scope=None,
    limit=None,
    client_id=None,
    ip=None,
    retry_after=None,
    actor=None,
    at=None,
    **kwargs,
) -> None:
    # The claimed client_id is unverified (the request was refused before authentication).
    recorder.record(
        EventType.REQUEST_THROTTLED,
        outcome=Outcome.FAILURE,
        client_id=client_id or "",
        request=request,
        at=at,
        detail={"scope": scope, "limit": limit, "retry_after": retry_after, "ip": ip},
        **actor_fields(actor),
    )


@records("initial_access_token_revoked")
def on_initial_access_token_revoked(
    sender, initial_access_tokens=(), count=0, actor=None, at=None, **kwargs
) -> None:
    recorder.record_with_fact(
        EventType.INITIAL_ACCESS_TOKEN_REVOKED,
        at=at,
        detail={"initial_access_tokens": list(initial_access_tokens), "count": count},
        **actor_fields(actor),
    )


@records("expired_tokens_cleared")
def on_expired_tokens_cleared(
    sender, tokens_deleted=0, codes_deleted=0, client_sessions_deleted=0, actor=None, at=None, **kwargs
) -> None:
    recorder.record_with_fact(
        EventType.EXPIRED_TOKENS_CLEARED,
        at=at,
        detail={
            "tokens_deleted": tokens_deleted,
            "codes_deleted": codes_deleted,
            "client_sessions_deleted": client_sessions_deleted,
        },
        **actor_fields(actor),
    )


@records("developer_signed_up")
def on_developer_signed_up(sender, user=None, actor=None, at=None, **kwargs) -> None:
    recorder.record_with_fact(
        EventType.DEVELOPER_SIGNED_UP,
        at=at,
        detail={"email_given": bool(getattr(user, "email", ""))},
        # The actor is the new developer: actor_fields names their user id and name.
        **{**user_fields(user), **actor_fields(actor)},
    )
