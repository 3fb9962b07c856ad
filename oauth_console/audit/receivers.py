"""Signal receivers: the only way events reach the audit log.

The server never calls the audit app; it sends the signals documented in `server.signals` and
`server.oauth2.signals`, and Django sends `user_logged_in` / `user_login_failed`. Each receiver
turns one signal into at most one event (one INSERT) and never raises: `_guarded` logs a failure
on the `oauth_console.audit` logger and lets the observed request carry on.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.utils import timezone

from oauth_console.audit import recorder
from oauth_console.audit.context import current_request
from oauth_console.audit.models import ActorKind, EventType, Outcome
from server import services
from server import signals as server_signals
from server.oauth2 import signals as oauth2_signals

logger = logging.getLogger("oauth_console.audit")

# Keys of a client's changes that must never reach the log, whatever a caller puts there.
SECRET_MARKERS = ("secret", "digest", "password", "token")


def _guarded(func: Callable[..., None]) -> Callable[..., None]:
    """Run a receiver; log and swallow any failure (the audit log must never break a request)."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:
            logger.exception("Audit receiver %s failed", func.__name__)

    return run


# --- helpers ------------------------------------------------------------------------------------


def _client_id(client: Any) -> str:
    if client is None:
        return ""
    value = getattr(client, "client_id", None)
    if isinstance(value, str):
        return value
    getter = getattr(client, "get_client_id", None)
    return getter() if getter else ""


def _user_fields(user: Any) -> dict[str, Any]:
    if user is None or not getattr(user, "pk", None):
        return {}
    return {"user_id": user.pk, "username": user.get_username()}


def _actor_fields(actor: Any) -> dict[str, Any]:
    """Actor kind and label, and the actor's user when the actor is a person."""
    if actor is None:
        return {"actor_kind": ActorKind.SYSTEM, "actor_label": "system"}
    fields: dict[str, Any] = {"actor_kind": actor.kind, "actor_label": actor.label}
    if actor.user_id is not None:
        fields["user_id"] = actor.user_id
        fields["username"] = actor.label.partition(":")[2]
    return fields


def _client_actor(client_id: str) -> dict[str, Any]:
    if not client_id:
        return {"actor_kind": ActorKind.ANONYMOUS, "actor_label": "anonymous"}
    return {"actor_kind": ActorKind.CLIENT, "actor_label": f"client:{client_id}"}


def _token_fields(token: Any) -> dict[str, Any]:
    """The non-secret reference to a stored token: its row id and access-token prefix."""
    if token is None:
        return {}
    return {"token_id": getattr(token, "pk", None), "token_prefix": getattr(token, "access_token_prefix", "")}


def _remember(note: tuple) -> None:
    context = current_request.get()
    if context is not None:
        context.notes.add(note)


def _already_noted(note: tuple) -> bool:
    context = current_request.get()
    return context is not None and note in context.notes


# --- protocol events (server.oauth2.signals) ------------------------------------------------------


@receiver(oauth2_signals.client_authenticated, dispatch_uid="audit.client_authenticated")
@_guarded
def on_client_authenticated(sender, client=None, request=None, method=None, **kwargs) -> None:
    client_id = _client_id(client)
    recorder.record(
        EventType.CLIENT_AUTHENTICATED,
        client_id=client_id,
        request=request,
        detail={"method": method},
        **_client_actor(client_id),
    )


@receiver(oauth2_signals.client_authentication_failed, dispatch_uid="audit.client_authentication_failed")
@_guarded
def on_client_authentication_failed(
    sender, client_id=None, request=None, method=None, reason=None, **kwargs
) -> None:
    client_id = client_id if isinstance(client_id, str) else ""
    recorder.record(
        EventType.CLIENT_AUTHENTICATION_FAILED,
        outcome=Outcome.FAILURE,
        client_id=client_id,
        request=request,
        detail={"method": method, "reason": reason},
        **_client_actor(client_id),
    )


@receiver(oauth2_signals.token_issued, dispatch_uid="audit.token_issued")
@_guarded
def on_token_issued(
    sender,
    token=None,
    client=None,
    user=None,
    grant_type=None,
    scope=None,
    request=None,
    record=None,
    **kwargs,
) -> None:
    client_id = _client_id(client)
    fields = _token_fields(record)
    if not fields.get("token_prefix") and isinstance(token, dict) and token.get("access_token"):
        # Only the display prefix, which the design treats as non-secret; never the value.
        fields["token_prefix"] = str(token["access_token"])[:12]
    detail = {
        "grant_type": grant_type,
        "scope": scope if scope is not None else (token or {}).get("scope", ""),
        "expires_in": (token or {}).get("expires_in"),
        "refresh_token_issued": bool((token or {}).get("refresh_token")),
    }
    parent_id = getattr(record, "parent_id", None)
    if parent_id:
        detail["parent_token_id"] = parent_id
    recorder.record(
        EventType.TOKEN_ISSUED,
        client_id=client_id,
        request=request,
        detail=detail,
        **_client_actor(client_id),
        **_user_fields(user),
        **fields,
    )


@receiver(oauth2_signals.token_authenticated, dispatch_uid="audit.token_authenticated")
@_guarded
def on_token_authenticated(sender, token=None, request=None, **kwargs) -> None:
    token_id = getattr(token, "pk", None)
    if token_id is None:
        return
    interval = settings.AUDIT_TOKEN_USE_INTERVAL
    # The hot path: one cache round trip decides; only a new window costs the UPDATE and INSERT.
    if interval > 0 and not cache.add(f"audit:token-used:{token_id}", 1, timeout=interval):
        return
    now = timezone.now()
    services.touch_token(token_id, now)
    client_id = _client_id(getattr(token, "client", None))
    recorder.record(
        EventType.TOKEN_AUTHENTICATED,
        client_id=client_id,
        request=request,
        at=now,
        detail={"scope": getattr(token, "scope", ""), "path": getattr(request, "path", "")},
        **_client_actor(client_id),
        **_user_fields(getattr(token, "user", None)),
        **_token_fields(token),
    )


@receiver(oauth2_signals.token_revoked, dispatch_uid="audit.token_revoked")
@_guarded
def on_token_revoked(sender, token=None, request=None, client=None, **kwargs) -> None:
    # The revocation service already recorded who revoked what and why in this request (it runs
    # first, inside the endpoint); a second event for the same token would only be noise.
    if _already_noted(("revoked", getattr(token, "pk", None))) or _already_noted(
        ("revoked-family", str(getattr(token, "family_id", "")))
    ):
        return
    client_id = _client_id(client) or _client_id(getattr(token, "client", None))
    recorder.record(
        EventType.TOKEN_REVOKED,
        client_id=client_id,
        request=request,
        detail={"via": "revocation endpoint"},
        **_client_actor(client_id),
        **_user_fields(getattr(token, "user", None)),
        **_token_fields(token),
    )


@receiver(oauth2_signals.authorization_code_replayed, dispatch_uid="audit.authorization_code_replayed")
@_guarded
def on_authorization_code_replayed(sender, client=None, code=None, request=None, **kwargs) -> None:
    client_id = _client_id(client)
    user = getattr(code, "user", None)
    recorder.record(
        EventType.AUTHORIZATION_CODE_REPLAYED,
        outcome=Outcome.FAILURE,
        client_id=client_id,
        request=request,
        detail={"authorization_code_id": getattr(code, "pk", None)},
        **_client_actor(client_id),
        **_user_fields(user),
    )


@receiver(oauth2_signals.refresh_token_reused, dispatch_uid="audit.refresh_token_reused")
@_guarded
def on_refresh_token_reused(sender, client=None, token=None, request=None, **kwargs) -> None:
    client_id = _client_id(client)
    recorder.record(
        EventType.REFRESH_TOKEN_REUSED,
        outcome=Outcome.FAILURE,
        client_id=client_id,
        request=request,
        detail={
            "family_id": str(getattr(token, "family_id", "")),
            "refresh_token_prefix": getattr(token, "refresh_token_prefix", ""),
        },
        **_client_actor(client_id),
        **_user_fields(getattr(token, "user", None)),
        **_token_fields(token),
    )


def _consent(event_type: str, outcome: str, client, user, scope, request) -> None:
    user_fields = _user_fields(user)
    recorder.record(
        event_type,
        outcome=outcome,
        client_id=_client_id(client),
        request=request,
        detail={"scope": scope or ""},
        actor_kind=ActorKind.USER,
        actor_label=f"user:{user_fields.get('username', '')}",
        **user_fields,
    )


@receiver(oauth2_signals.consent_granted, dispatch_uid="audit.consent_granted")
@_guarded
def on_consent_granted(sender, client=None, user=None, scope=None, request=None, **kwargs) -> None:
    _consent(EventType.CONSENT_GRANTED, Outcome.SUCCESS, client, user, scope, request)


@receiver(oauth2_signals.consent_denied, dispatch_uid="audit.consent_denied")
@_guarded
def on_consent_denied(sender, client=None, user=None, scope=None, request=None, **kwargs) -> None:
    _consent(EventType.CONSENT_DENIED, Outcome.FAILURE, client, user, scope, request)


# --- service events (server.signals) ------------------------------------------------------------


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


@receiver(server_signals.client_created, dispatch_uid="audit.client_created")
@_guarded
def on_client_created(sender, client=None, actor=None, at=None, **kwargs) -> None:
    # `secret` is in kwargs and deliberately never looked at.
    recorder.record(
        EventType.CLIENT_CREATED,
        client_id=client.client_id,
        at=at,
        detail=_client_summary(client),
        **_actor_fields(actor),
    )


@receiver(server_signals.client_changed, dispatch_uid="audit.client_changed")
@_guarded
def on_client_changed(sender, client=None, changes=None, actor=None, at=None, **kwargs) -> None:
    safe = {
        field: change
        for field, change in (changes or {}).items()
        if not any(marker in field.lower() for marker in SECRET_MARKERS)
    }
    recorder.record(
        EventType.CLIENT_CHANGED,
        client_id=client.client_id,
        at=at,
        detail={"changes": safe},
        **_actor_fields(actor),
    )


def status_event_type(old_status: str, new_status: str) -> str:
    """The event a status change is: approved, rejected, disabled, enabled (or just changed)."""
    if new_status == "active":
        return EventType.CLIENT_APPROVED if old_status == "pending" else EventType.CLIENT_ENABLED
    return {
        "disabled": EventType.CLIENT_DISABLED,
        "rejected": EventType.CLIENT_REJECTED,
    }.get(new_status, EventType.CLIENT_CHANGED)


@receiver(server_signals.client_status_changed, dispatch_uid="audit.client_status_changed")
@_guarded
def on_client_status_changed(
    sender, client=None, old_status=None, new_status=None, reason="", actor=None, at=None, **kwargs
) -> None:
    recorder.record(
        status_event_type(old_status, new_status),
        client_id=client.client_id,
        at=at,
        detail={"old_status": old_status, "new_status": new_status, "reason": reason},
        **_actor_fields(actor),
    )


@receiver(server_signals.client_deleted, dispatch_uid="audit.client_deleted")
@_guarded
def on_client_deleted(
    sender, client_id=None, name=None, tokens_revoked=0, actor=None, at=None, **kwargs
) -> None:
    recorder.record(
        EventType.CLIENT_DELETED,
        client_id=client_id,
        at=at,
        detail={"name": name, "active_tokens_deleted": tokens_revoked},
        **_actor_fields(actor),
    )


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


@receiver(server_signals.client_secret_rotated, dispatch_uid="audit.client_secret_rotated")
@_guarded
def on_client_secret_rotated(
    sender, client=None, secret=None, previous_expires_at=None, actor=None, at=None, **kwargs
) -> None:
    recorder.record(
        EventType.CLIENT_SECRET_ROTATED,
        client_id=client.client_id,
        at=at,
        detail={
            "new_secret_id": secret.pk,
            "new_secret_prefix": secret.prefix,
            "previous_secrets_expire_at": _iso(previous_expires_at),
        },
        **_actor_fields(actor),
    )


@receiver(server_signals.client_secret_expired, dispatch_uid="audit.client_secret_expired")
@_guarded
def on_client_secret_expired(sender, client=None, secret=None, actor=None, at=None, **kwargs) -> None:
    recorder.record(
        EventType.CLIENT_SECRET_EXPIRED,
        client_id=client.client_id,
        at=at,
        detail={"secret_id": secret.pk, "secret_prefix": secret.prefix},
        **_actor_fields(actor),
    )


@receiver(server_signals.tokens_revoked, dispatch_uid="audit.tokens_revoked")
@_guarded
def on_tokens_revoked(sender, count=0, reason="", criteria=None, actor=None, at=None, **kwargs) -> None:
    criteria = dict(criteria or {})
    fields: dict[str, Any] = {}
    single = set(criteria) == {"token_id"}
    if single:
        fields["token_id"] = criteria["token_id"]
        _remember(("revoked", criteria["token_id"]))
    elif set(criteria) == {"family_id"}:
        _remember(("revoked-family", str(criteria["family_id"])))
    client_id = criteria.get("client_id") if isinstance(criteria.get("client_id"), str) else ""
    if not client_id and actor is not None and actor.kind == "client":
        client_id = actor.client_id or ""
    recorder.record(
        EventType.TOKEN_REVOKED if single else EventType.TOKENS_REVOKED,
        client_id=client_id,
        at=at,
        detail={"count": count, "reason": reason, "criteria": criteria},
        **_actor_fields(actor),
        **fields,
    )


@receiver(server_signals.consent_revoked, dispatch_uid="audit.consent_revoked")
@_guarded
def on_consent_revoked(
    sender, client=None, user=None, tokens_revoked=0, actor=None, at=None, **kwargs
) -> None:
    recorder.record(
        EventType.CONSENT_REVOKED,
        client_id=client.client_id,
        at=at,
        detail={"tokens_revoked": tokens_revoked},
        **{**_actor_fields(actor), **_user_fields(user)},
    )


@receiver(server_signals.initial_access_token_created, dispatch_uid="audit.initial_access_token_created")
@_guarded
def on_initial_access_token_created(sender, initial_access_token=None, actor=None, at=None, **kwargs) -> None:
    row = initial_access_token
    recorder.record(
        EventType.INITIAL_ACCESS_TOKEN_CREATED,
        at=at,
        detail={
            "initial_access_token_id": row.pk,
            "prefix": row.prefix,
            "description": row.description,
            "max_registrations": row.max_registrations,
            "expires_at": _iso(row.expires_at),
        },
        **_actor_fields(actor),
    )


# --- sign-ins (django.contrib.auth) --------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="audit.user_logged_in")
@_guarded
def on_user_logged_in(sender, request=None, user=None, **kwargs) -> None:
    operator = bool(getattr(user, "is_staff", False))
    username = user.get_username()
    recorder.record(
        EventType.OPERATOR_LOGIN if operator else EventType.USER_LOGIN,
        request=request,
        actor_kind=ActorKind.OPERATOR if operator else ActorKind.USER,
        actor_label=f"{'operator' if operator else 'user'}:{username}",
        detail={"path": getattr(request, "path", "")},
        **_user_fields(user),
    )


@receiver(user_login_failed, dispatch_uid="audit.user_login_failed")
@_guarded
def on_user_login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    # Django hands us the credentials with the password already masked; keep only the name.
    username = str((credentials or {}).get("username", ""))[:150]
    recorder.record(
        EventType.LOGIN_FAILED,
        outcome=Outcome.FAILURE,
        request=request,
        actor_kind=ActorKind.ANONYMOUS,
        actor_label="anonymous",
        username=username,
        detail={"path": getattr(request, "path", "")},
    )
