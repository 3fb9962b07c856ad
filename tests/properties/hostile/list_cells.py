"""The hostile-values matrix's rows for what the console's two big lists show of a token and of an
audit event. Their rows are written by `oauth_console.admin_rows` (not Django's
items_for_result) and their cells by `oauth_console.admin_cells`: a column's value is escaped
there or nowhere, so every column gets the values.

A door stores a value in one field of a token or an event, or refuses it (returns None):
- what a caller without credentials makes the server record: a failed client authentication's
  client_id, a failed sign-in's username, any request's User-Agent and X-Forwarded-For;
- a row stored as it is (an older release, a migration, a user from an identity provider): every
  column the lists and the detail pages show. A value the database cannot hold (PostgreSQL: a
  NUL, more than the column's length) never was stored.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import DataError, transaction
from django.test import Client as HttpClient
from django.test import TestCase
from django.urls import reverse

from oauth_console.audit import recorder
from oauth_console.audit.models import AuditEvent, EventType
from server import services
from server.actors import Actor
from server.models import Token
from tests.server.helpers import form

from .values import HOSTILE_ATTRIBUTE_TEXT, HOSTILE_TEXT

# An IPv6 address with a zone id (RFC 4007 §11) past the 39 characters Django's IPv6 cleaning
# takes: X-Forwarded-For and the audit list's IP filter carried it to a ValidationError (a 500).
IPV6_WITH_LONG_ZONE = "fe80::1%" + "a" * 40
LIST_VALUES = [
    *HOSTILE_TEXT,
    *HOSTILE_ATTRIBUTE_TEXT,
    "javascript:alert(1)",
    "nul\x00byte",
    IPV6_WITH_LONG_ZONE,
]


@dataclass(frozen=True)
class ListField:
    """A field of a token or an event: the door that stores a value in it, and whether the list's
    cell shows the stored value as text (`listed`; an event type or outcome shows its label)."""

    store: Callable[[dict, str], Token | AuditEvent | None]
    listed: bool = True


# --- audit events -------------------------------------------------------------------------------


def _newest_event(event_type: str, before: int) -> AuditEvent | None:
    return AuditEvent.objects.filter(event_type=event_type, id__gt=before).order_by("-id").first()


def _last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def failed_sign_in(world: dict, value: str, **headers) -> AuditEvent | None:
    """POST /accounts/login/ with a wrong password: the login_failed event (None: the form
    refused the name before any authentication)."""
    before = _last_id()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the event is written after commit
        HttpClient().post(
            reverse("login"), {"username": value, "password": "not-the-password"}, secure=True, **headers
        )
    return _newest_event(EventType.LOGIN_FAILED, before)


def failed_client_authentication(world: dict, value: str) -> AuditEvent | None:
    """POST /oauth/token claiming the client_id `value` with a wrong secret."""
    before = _last_id()
    data = {"grant_type": "client_credentials", "client_id": value, "client_secret": "wrong"}
    with TestCase.captureOnCommitCallbacks(execute=True):
        form(HttpClient(), "/oauth/token", data, secure=True)
    return _newest_event(EventType.CLIENT_AUTHENTICATION_FAILED, before)


def _stored_event(field: str) -> Callable[[dict, str], AuditEvent | None]:
    def store(world: dict, value: str) -> AuditEvent | None:
        arguments = {"client_id": world["client"].client_id, "username": "alice", "token_id": 7}
        arguments["token_prefix"] = "oat_abcdefgh"
        if field in ("actor_label", "client_id", "username", "token_prefix", "event_type", "outcome"):
            arguments[field] = value
        event = recorder.build_event(arguments.pop("event_type", EventType.TOKEN_ISSUED), **arguments)
        if field == "detail":
            event.detail = {"note": value}
        elif field in ("ip_address", "user_agent", "request_id"):
            setattr(event, field, value)
        before = _last_id()
        recorder.insert([event])  # logs, and stores nothing, when the database refuses a value
        return AuditEvent.objects.filter(id__gt=before).first()

    return store


AUDIT_FIELDS: dict[str, ListField] = {
    "sign-in|username": ListField(failed_sign_in),
    "sign-in|user_agent": ListField(
        lambda world, value: failed_sign_in(world, "m-nobody", HTTP_USER_AGENT=value), listed=False
    ),
    "sign-in|ip_address": ListField(
        lambda world, value: failed_sign_in(world, "m-nobody", HTTP_X_FORWARDED_FOR=value)
    ),
    "token endpoint|client_id": ListField(failed_client_authentication),
    **{
        f"stored row|{name}": ListField(_stored_event(name), listed=name not in ("event_type", "outcome"))
        for name in ("actor_label", "client_id", "username", "token_prefix", "event_type", "outcome")
    },
    **{
        f"stored row|{name}": ListField(_stored_event(name), listed=name == "ip_address")
        for name in ("ip_address", "user_agent", "request_id", "detail")
    },
}


# --- tokens -------------------------------------------------------------------------------------


def _stored_token(field: str) -> Callable[[dict, str], Token | None]:
    def store(world: dict, value: str) -> Token | None:
        token = services.store_token(
            {"access_token": "oat_" + secrets.token_urlsafe(24), "expires_in": 3600},
            client=world["client"],
            user=world["user"],
            grant_type="authorization_code",
        )
        # Revoked, so that the status and "revoked by" cells show the revocation's fields too.
        changes = {"revoked_at": token.issued_at, "revoked_by": "operator:root", "revoked_reason": "leak"}
        try:
            with transaction.atomic():
                if field == "username":
                    get_user_model().objects.filter(pk=world["user"].pk).update(username=value)
                else:
                    changes[field] = value
                Token.objects.filter(pk=token.pk).update(**changes)
        except DataError:
            return None
        return Token.objects.select_related("user").get(pk=token.pk)

    return store


TOKEN_FIELDS: dict[str, ListField] = {
    f"stored row|{name}": ListField(_stored_token(name))
    for name in ("access_token_prefix", "scope", "grant_type", "revoked_by", "revoked_reason", "username")
}


def stored_value(row: Token | AuditEvent, field: str) -> str:
    """The field's value as the database gave it back (cut, or changed by a normaliser)."""
    name = field.split("|")[1]
    if name == "username" and isinstance(row, Token):
        return row.user.get_username()
    if name == "detail":
        return row.detail["note"]
    value = getattr(row, name)
    return "" if value is None else str(value)


def new_world(django_user_model) -> dict:
    """A client and an end user the doors' tokens and events name."""
    client, _secret = services.create_client(
        name="List matrix", actor=Actor.system("tests"), redirect_uris=["https://app.example.com/cb"]
    )
    user = django_user_model.objects.create_user("m-listed", "listed@example.com", "listed-pw-123456")
    return {"client": client, "user": user}
