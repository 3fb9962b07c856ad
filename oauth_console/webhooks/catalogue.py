"""The events a webhook can subscribe to, and the JSON each one is delivered as.

They are events of the catalogue (`server.events`) an operator wants to hear about elsewhere,
plus `audit_verification_failed`, which the audit log reports about itself. The hot-path events
(tokens issued or used, clients authenticated, single RFC 7009 revocations) are not offered:
one subscription would add a write to every token request. A payload names things by their
public identifiers and never carries a secret, a token or a code.

Every body is `{"type": ..., "timestamp": ..., "data": {...}}` (the Standard Webhooks shape).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oauth_console.audit import signals as audit_signals
from server import events

TEST_EVENT = "webhook.test"
# The audit log's own news (`oauth_console.audit.signals`), not a server event.
AUDIT_VERIFICATION_FAILED = audit_signals.verification_failed


def _client_id(client: Any) -> str:
    return getattr(client, "client_id", "") or ""


def _client(client: Any = None, **_: Any) -> dict:
    return {"client_id": _client_id(client), "name": getattr(client, "name", "")}


# signal -> (what it means, for the console; how its payload becomes `data`). Keyed by the
# catalogue's signals, so a name here is always the catalogue's name for it.
_BY_SIGNAL: dict[Any, tuple[str, Callable[..., dict]]] = {
    events.client_created: ("A client was created", _client),
    events.client_changed: (
        "A client's settings changed",
        lambda client=None, changes=None, review=None, **_: {
            **_client(client),
            "fields": sorted(changes or {}),
            "review": review or "",
        },
    ),
    events.client_status_changed: (
        "A client was disabled, enabled, approved or rejected",
        lambda client=None, old_status="", new_status="", reason="", **_: {
            **_client(client),
            "old_status": old_status,
            "new_status": new_status,
            "reason": reason,
        },
    ),
    events.client_deleted: (
        "A client was deleted",
        lambda client_id="", name="", tokens_revoked=0, **_: {
            "client_id": client_id,
            "name": name,
            "revoked_tokens": tokens_revoked,
        },
    ),
    events.client_secret_rotated: (
        "A client secret was rotated",
        lambda client=None, previous_expires_at=None, **_: {
            **_client(client),
            "previous_expires_at": previous_expires_at.isoformat() if previous_expires_at else None,
        },
    ),
    events.client_secret_expired: ("A client secret was expired", _client),
    events.tokens_revoked: (
        "Tokens were revoked (bulk, a family, a replayed code or a reused refresh token)",
        lambda count=0, reason="", criteria=None, **_: {
            "count": count,
            "reason": reason,
            "criteria": {k: str(v) for k, v in (criteria or {}).items()},
        },
    ),
    events.refresh_token_reused: (
        "A rotated refresh token was presented again (its family is revoked)",
        lambda client=None, token=None, **_: {
            "client_id": _client_id(client),
            "family_id": str(getattr(token, "family_id", "") or ""),
        },
    ),
    events.authorization_code_replayed: (
        "A used authorization code was presented again",
        lambda client=None, **_: {"client_id": _client_id(client)},
    ),
    events.consent_revoked: (
        "A user's consent to a client was revoked",
        lambda client=None, user=None, tokens_revoked=0, codes_expired=0, **_: {
            "client_id": _client_id(client),
            "user_id": getattr(user, "pk", None),
            "revoked_tokens": tokens_revoked,
        },
    ),
    events.user_access_revoked: (
        "A user was deactivated or deleted, and lost every token",
        lambda user_id=None, username="", reason="", tokens_revoked=0, **_: {
            "user_id": user_id,
            "username": username,
            "reason": reason,
            "revoked_tokens": tokens_revoked,
        },
    ),
    events.request_throttled: (
        "A rate limit tripped (failed-authentication bursts, password guessing, floods)",
        lambda scope="", limit="", client_id="", ip="", retry_after=0, **_: {
            "scope": scope,
            "limit": limit,
            "client_id": client_id or "",
            "ip": ip or "",
            "retry_after": retry_after,
        },
    ),
    events.signing_key_activated: (
        "An OpenID Connect signing key started signing",
        lambda key=None, retired=None, **_: {
            "kid": getattr(key, "kid", ""),
            "alg": getattr(key, "alg", ""),
            "retired_kid": getattr(retired, "kid", None),
        },
    ),
    events.signing_key_revoked: (
        "An OpenID Connect signing key was revoked",
        lambda key=None, previous_state="", reason="", **_: {
            "kid": getattr(key, "kid", ""),
            "alg": getattr(key, "alg", ""),
            "previous_state": previous_state,
            "reason": reason,
        },
    ),
    events.initial_access_token_created: (
        "An initial access token (for dynamic registration) was created",
        lambda initial_access_token=None, **_: {"id": getattr(initial_access_token, "pk", None)},
    ),
    AUDIT_VERIFICATION_FAILED: (
        "verify_audit_log found the audit log altered",
        lambda problem="", **_: {"command": "verify_audit_log", "problem": problem},
    ),
}


_NAMES = {signal: name for name, signal in events.CATALOGUE.items()}
_NAMES[AUDIT_VERIFICATION_FAILED] = "audit_verification_failed"
# name -> (meaning, builder): every event a subscription may name.
EVENTS: dict[str, tuple[str, Callable[..., dict]]] = {_NAMES[s]: entry for s, entry in _BY_SIGNAL.items()}
SIGNALS = {_NAMES[signal]: signal for signal in _BY_SIGNAL}


def describe(event_type: str) -> str:
    if event_type == TEST_EVENT:
        return "A test event sent from the console"
    return EVENTS[event_type][0] if event_type in EVENTS else event_type


def data_of(event_type: str, payload: dict[str, Any]) -> dict:
    """The `data` member of `event_type`'s body, from the event's payload (plus the actor)."""
    data = EVENTS[event_type][1](**payload)
    actor = payload.get("actor")
    if actor is not None:
        data["actor"] = actor.label
    return data


def choices() -> list[tuple[str, str]]:
    return [(name, f"{name}: {meaning}") for name, (meaning, _) in EVENTS.items()]
