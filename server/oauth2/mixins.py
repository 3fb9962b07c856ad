"""Model mixins: the spec's ClientMixin, AuthorizationCodeMixin and TokenMixin.

Each carries the spec's methods plus the ones authlib 1.9 actually calls. They read attributes
the way the spec's example models define them, and they cope with a Django detail those models
trip over: a `client` ForeignKey makes `instance.client_id` the client's *primary key*, hiding
any `client_id` property the model declares. Whenever an OAuth client identifier is needed, the
mixins go through the relation instead.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from authlib.oauth2.rfc6749 import models as rfc6749_models
from authlib.oauth2.rfc6749.util import scope_to_list
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.utils import timezone

__all__ = ["AuthorizationCodeMixin", "ClientMixin", "TokenMixin", "find_related_model", "mark_token_revoked"]


def _as_list(value: Any) -> list[str]:
    """A space-separated string or a sequence, as a list (a string is never searched by substring)."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(item) for item in value]


def relation_field(instance_or_model: Any, name: str):
    """The ForeignKey/OneToOne field called `name` on a Django model, or None."""
    meta = getattr(instance_or_model, "_meta", None)
    if meta is None:
        return None
    try:
        field = meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False) else None


def oauth_client_id(obj: Any) -> str | None:
    """The OAuth client identifier of a code or token, going through a `client` relation if any."""
    if relation_field(obj, "client") is not None:
        client = obj.client
        if client is None:
            return None
        return client.get_client_id() if hasattr(client, "get_client_id") else client.client_id
    value = getattr(obj, "client_id", None)
    return None if value is None else str(value)


def belongs_to_client(obj: Any, client: Any) -> bool:
    """True when code/token `obj` was issued to `client`, compared by OAuth identity, not by pk."""
    if client is None:
        return False
    field = relation_field(obj, "client")
    if field is not None and isinstance(client, field.related_model):
        # Compare the stored foreign-key value with the field it points at: no query, and right
        # for both `to_field`-less (pk) and `to_field="client_id"` relations.
        return getattr(obj, field.attname) == getattr(client, field.target_field.attname)
    own = oauth_client_id(obj)
    other = client.get_client_id() if hasattr(client, "get_client_id") else getattr(client, "client_id", None)
    return own is not None and other is not None and own == str(other)


def related_user(obj: Any) -> Any:
    """The user a code or token belongs to: its `user` relation, else a lookup by `user_id`."""
    if relation_field(obj, "user") is not None:
        return obj.user
    user_id = getattr(obj, "user_id", None)
    if user_id in (None, ""):
        return None
    return get_user_model()._default_manager.filter(pk=user_id).first()


def find_related_model(client: Any, mixin: type) -> type:
    """The model holding `mixin` that points at the client's model (via a ForeignKey)."""
    meta = getattr(type(client), "_meta", None)
    if meta is not None:
        for relation in meta.related_objects:
            model = relation.related_model
            if isinstance(model, type) and issubclass(model, mixin):
                return model
    raise ImproperlyConfigured(
        f"No model with {mixin.__name__} has a ForeignKey to {type(client).__name__}; set the grant's "
        f"model attribute or override its storage hooks."
    )


def field_names(model: type) -> set[str]:
    return {field.name for field in model._meta.concrete_fields}


def mark_token_revoked(token: Any) -> bool:
    """Mark `token` revoked with one conditional UPDATE; True when this call revoked it.

    Understands a boolean `revoked` field or a nullable `revoked_at` timestamp; False means the
    token was already revoked (a concurrent request got there first).
    """
    model = type(token)
    names = field_names(model)
    if "revoked" in names:
        changes, still_active = {"revoked": True}, {"revoked": False}
    elif "revoked_at" in names:
        changes, still_active = {"revoked_at": timezone.now()}, {"revoked_at__isnull": True}
    else:
        raise ImproperlyConfigured(
            f"{model.__name__} has neither a 'revoked' nor a 'revoked_at' field; override the hook "
            f"that revokes tokens (revoke_old_credential / the endpoint's revoke_token)."
        )
    count = model._default_manager.filter(pk=token.pk, **still_active).update(**changes)
    for name, value in changes.items():
        setattr(token, name, value)
    return count == 1


class ClientMixin(rfc6749_models.ClientMixin):
    """Mixin for the client model: the spec's fields and checks, plus authlib 1.9's.

    Reads `client_id`, `client_secret`, `allowed_scopes`, `redirect_uris` (or the model's
    `get_allowed_redirect_uris()`), `response_types`, `grant_types` and
    `token_endpoint_auth_methods`; the list-valued ones may be space-separated strings.
    """

    client_id: str
    client_secret: str
    client_id_issued_at: int
    client_secret_expires_at: int

    def get_client_id(self) -> str:
        """The OAuth client identifier."""
        return self.client_id

    def get_allowed_redirect_uris(self) -> list[str]:
        """The registered redirect URIs (models usually override this)."""
        return _as_list(getattr(self, "redirect_uris", None))

    def get_default_redirect_uri(self) -> str:
        """`default_redirect_uri` if the model has one, else the only registered URI (RFC 6749 §3.1.2.3)."""
        default = getattr(self, "default_redirect_uri", "")
        if default:
            return default
        uris = self.get_allowed_redirect_uris()
        return uris[0] if len(uris) == 1 else ""

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client may have (all allowed ones when `scope` is empty).

        This narrows silently, as the spec says; the package's grants compare the result with
        the request and answer `invalid_scope` when something was dropped. With no scope, the
        result is the request's effective scope: the consent page must show it and the code and
        token carry it. The spec's answer (every allowed scope) suits its example; a model for
        real users should return a small default set, or None to refuse (`invalid_scope`).
        """
        allowed = getattr(self, "allowed_scopes", "") or ""
        if not scope:
            return allowed
        allowed_scopes = set(_as_list(allowed))
        return " ".join(s for s in scope_to_list(scope) if s in allowed_scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """True when `redirect_uri` is exactly one of the registered URIs."""
        return redirect_uri in self.get_allowed_redirect_uris()

    def has_client_secret(self) -> bool:
        """True for confidential clients (those holding a secret)."""
        return bool(getattr(self, "client_secret", ""))

    def is_client_secret_expired(self) -> bool:
        """True when `client_secret_expires_at` (seconds since the epoch, 0 = never) has passed."""
        expires_at = getattr(self, "client_secret_expires_at", 0) or 0
        return bool(expires_at) and time.time() >= int(expires_at)

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare `client_secret` with the stored one in constant time."""
        stored = getattr(self, "client_secret", "") or ""
        if not stored or not client_secret or self.is_client_secret_expired():
            return False
        return hmac.compare_digest(stored.encode("utf-8"), str(client_secret).encode("utf-8"))

    def get_token_endpoint_auth_methods(self) -> list[str]:
        """`token_endpoint_auth_methods` if the model sets it; else client_secret_basic for
        clients with a secret (the spec's default) and "none" for public clients."""
        methods = getattr(self, "token_endpoint_auth_methods", None)
        if methods:
            return _as_list(methods)
        method = getattr(self, "token_endpoint_auth_method", None)
        if method:
            return [method]
        return ["client_secret_basic"] if self.has_client_secret() else ["none"]

    def check_token_endpoint_auth_method(self, method: str) -> bool:
        """True when the client may authenticate with `method` at the token endpoint."""
        return method in self.get_token_endpoint_auth_methods()

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """authlib 1.9's check: the same methods at the token, revocation and introspection endpoints."""
        return self.check_token_endpoint_auth_method(method)

    def check_response_type(self, response_type: str) -> bool:
        """True when the client registered `response_type` (default: code)."""
        return response_type in _as_list(getattr(self, "response_types", None) or ["code"])

    def check_grant_type(self, grant_type: str) -> bool:
        """True when the client registered `grant_type` (default: authorization_code)."""
        return grant_type in _as_list(getattr(self, "grant_types", None) or ["authorization_code"])


class AuthorizationCodeMixin(rfc6749_models.AuthorizationCodeMixin):
    """Mixin for the authorization-code model: the spec's getters plus authlib's."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user_id: str
    code_challenge: str
    code_challenge_method: str

    def is_expired(self) -> bool:
        """True once `expires_at` (if the model has it) has passed."""
        expires_at = getattr(self, "expires_at", None)
        if not expires_at:
            return False
        return timezone.now() > expires_at

    def get_redirect_uri(self) -> str:
        """The redirect URI the authorization request named ('' when it used the default)."""
        return self.redirect_uri or ""

    def get_scope(self) -> str:
        """The scope the user granted."""
        return self.scope or ""

    def get_user_id(self) -> str:
        """The user's primary key, as a string."""
        return str(self.user_id)

    def get_user(self) -> Any:
        """The user who granted this code."""
        return related_user(self)

    def get_client_id(self) -> str | None:
        """The OAuth client identifier (through the `client` relation when there is one)."""
        return oauth_client_id(self)

    def check_client(self, client: Any) -> bool:
        """True when this code was issued to `client`."""
        return belongs_to_client(self, client)

    def get_code_challenge(self) -> str:
        """The PKCE code_challenge, '' when none was sent."""
        return getattr(self, "code_challenge", "") or ""

    def get_code_challenge_method(self) -> str:
        """The PKCE code_challenge_method, '' when none was sent."""
        return getattr(self, "code_challenge_method", "") or ""

    def get_nonce(self) -> str | None:
        """The OpenID Connect nonce, if the model stores one."""
        return getattr(self, "nonce", None)

    def get_auth_time(self) -> int | None:
        """When the user authenticated, if the model stores it."""
        return getattr(self, "auth_time", None)


class TokenMixin(rfc6749_models.TokenMixin):
    """Mixin for the token model: the spec's getters plus authlib's `check_client`, `get_expires_in` ..."""

    access_token: str
    client_id: str
    token_type: str
    refresh_token: str
    scope: str
    user_id: str
    issued_at: int
    expires_in: int

    def get_scope(self) -> str:
        """The token's scope ('' when none)."""
        return self.scope or ""

    def get_user_id(self) -> str:
        """The user's primary key, as a string."""
        return str(self.user_id)

    def get_user(self) -> Any:
        """The user the token acts for (None for client-credentials tokens)."""
        return related_user(self)

    def get_client_id(self) -> str | None:
        """The OAuth client identifier (through the `client` relation when there is one)."""
        return oauth_client_id(self)

    def get_client(self) -> Any:
        """The client the token was issued to."""
        if relation_field(self, "client") is not None:
            return self.client
        return None

    def check_client(self, client: Any) -> bool:
        """True when the token was issued to `client`, compared by OAuth client, not by primary key."""
        return belongs_to_client(self, client)

    def get_expires_in(self) -> int:
        """Lifetime of the access token in seconds (0: does not expire)."""
        return int(self.expires_in or 0)

    def get_issued_at(self) -> int:
        """When the token was issued, in seconds since the epoch."""
        return int(self.issued_at)

    def get_expires_at(self) -> int:
        """Expiry in seconds since the epoch, 0 when the token does not expire."""
        if not self.expires_in:
            return 0
        return self.get_issued_at() + int(self.expires_in)

    def is_expired(self) -> bool:
        """True once issued_at + expires_in has passed."""
        if not self.expires_in:
            return False
        return timezone.now().timestamp() > self.get_expires_at()

    def is_revoked(self) -> bool:
        """True when the model's `revoked` flag is set or its `revoked_at` is filled."""
        if getattr(self, "revoked", False):
            return True
        return getattr(self, "revoked_at", None) is not None
