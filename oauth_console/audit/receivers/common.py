"""What every receiver shares: the failure guard, the recorders' registry, and the mapping of
actors, users and tokens."""

import functools
import logging
from collections.abc import Callable
from typing import Any

from oauth_console.audit.models import ActorKind

logger = logging.getLogger("oauth_console.audit")


# (event name, function) of every recorder: AuditConfig.ready registers them with
# `server.events.add_recorder`, which runs them inside the transaction of the fact they report.
RECORDERS: list[tuple[str, Callable[..., None]]] = []


def records(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a function as the audit log's recorder of `name` (`server.events.IN_TRANSACTION`).
    Not guarded: if it cannot record, the fact must not commit either."""

    def register(func: Callable[..., None]) -> Callable[..., None]:
        RECORDERS.append((name, func))
        return func

    return register


def guarded(func: Callable[..., None]) -> Callable[..., None]:
    """Run a receiver; log and swallow any failure (the audit log must never break a request)."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:
            logger.exception("Audit receiver %s failed", func.__name__)

    return run


def client_id_of(client: Any) -> str:
    if client is None:
        return ""
    value = getattr(client, "client_id", None)
    if isinstance(value, str):
        return value
    getter = getattr(client, "get_client_id", None)
    return getter() if getter else ""


def user_fields(user: Any) -> dict[str, Any]:
    if user is None or not getattr(user, "pk", None):
        return {}
    return {"user_id": user.pk, "username": user.get_username()}


def actor_fields(actor: Any) -> dict[str, Any]:
    """Actor kind and label, and the actor's user when the actor is a person."""
    if actor is None:
        return {"actor_kind": ActorKind.SYSTEM, "actor_label": "system"}
    fields: dict[str, Any] = {"actor_kind": actor.kind, "actor_label": actor.label}
    if actor.user_id is not None:
        fields["user_id"] = actor.user_id
        fields["username"] = actor.label.partition(":")[2]
    return fields


def client_actor(client_id: str) -> dict[str, Any]:
    if not client_id:
        return {"actor_kind": ActorKind.ANONYMOUS, "actor_label": "anonymous"}
    return {"actor_kind": ActorKind.CLIENT, "actor_label": f"client:{client_id}"}


def token_fields(token: Any) -> dict[str, Any]:
    """The non-secret reference to a stored token: its row id and access-token prefix."""
    if token is None:
        return {}
    return {"token_id": getattr(token, "pk", None), "token_prefix": getattr(token, "access_token_prefix", "")}
