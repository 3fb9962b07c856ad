"""ORM-backed grants that work with any Django models carrying the package's mixins.

`server.authorization_server.register_grant(AuthorizationCodeGrant)` is enough for the spec's
example models: the grants find the code and token models through the client model's reverse
relations (or the `authorization_code_model` / `token_model` class attributes), and every
storage step keeps authlib's hook name (`save_authorization_code`, `query_authorization_code`,
`delete_authorization_code`, `authenticate_user`, `authenticate_refresh_token`,
`revoke_old_credential`) so a subclass can replace it for other models.

Beyond authlib's grants: a requested scope the client may not have is `invalid_scope` (not
silently dropped); codes expire (60 s by default) and are redeemed once, atomically; refresh
tokens rotate; reuse of a redeemed code or a revoked refresh token is reported by signal.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import timedelta
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import grants as rfc6749_grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc6749.util import scope_to_list
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from . import signals
from .client_auth import CONFIDENTIAL_CLIENT_METHODS
from .mixins import (
    AuthorizationCodeMixin,
    TokenMixin,
    field_names,
    find_related_model,
    mark_token_revoked,
    related_user,
    relation_field,
)
from .requests import DEFAULT_PARAMETER_LIMITS, check_parameter_lengths
from .resource_indicators import ResourceIndicators
from .scope_check import _keep_resolved_scope, _ScopeCheck, check_scope_syntax, resolve_scope

__all__ = [
    "AuthorizationCodeGrant",
    "ClientCredentialsGrant",
    "RefreshTokenGrant",
    "resolve_scope",
]


# --- model helpers ---------------------------------------------------------------------------


def _owner_filter(model: type, name: str, obj: Any, plain_value: Any) -> dict[str, Any]:
    """Filter/create kwargs for `name`: the object itself for a relation, else `plain_value`."""
    if relation_field(model, name) is not None:
        return {name: obj}
    if f"{name}_id" in field_names(model):
        return {f"{name}_id": plain_value}
    return {}


def _is_active(user: Any) -> bool:
    """False for a deactivated user (Django's `is_active`); a user model without the flag is
    always active. A deactivated user's codes and refresh tokens get nothing new."""
    return bool(getattr(user, "is_active", True))


def _django_request(request: Any) -> Any:
    return getattr(request, "django_request", None)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _check_parameter_lengths(grant: Any, redirect_uri: str) -> None:
    limits = getattr(grant.server, "parameter_limits", DEFAULT_PARAMETER_LIMITS)
    check_parameter_lengths(grant.request.payload.data, limits)


# --- authorization code ----------------------------------------------------------------------


class AuthorizationCodeGrant(_ScopeCheck, rfc6749_grants.AuthorizationCodeGrant):
    """RFC 6749 §4.1 on Django models; PKCE (S256) is added by AuthorizationServer.register_grant.

    Class attributes: `authorization_code_model` (default: found through the client model),
    `AUTHORIZATION_CODE_EXPIRES_IN` (default: setting OAUTH2_AUTHORIZATION_CODE_LIFETIME, 60 s),
    `REDEEMED_CODE_MEMORY` (how long a redeemed code is remembered to detect replays).
    """

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [*CONFIDENTIAL_CLIENT_METHODS, "none"]
    authorization_code_model: type | None = None
    AUTHORIZATION_CODE_EXPIRES_IN: int | None = None
    REDEEMED_CODE_MEMORY = 3600

    def __init__(self, request: Any, server: Any) -> None:
        super().__init__(request, server)
        # Runs once the client and redirect URI are known and before the payload is validated,
        # so an over-long value is an invalid_request redirected to the client (RFC 6749
        # §4.1.2.1), before anything is stored.
        self.register_hook("before_validate_authorization_request_payload", _check_parameter_lengths)
        self.register_hook("after_validate_authorization_request_payload", _keep_resolved_scope)

    # -- authorization endpoint --

    @staticmethod
    def validate_authorization_redirect_uri(request: Any, client: Any) -> str:
        # authlib echoes the URI in the error description, and refuses (ValueError, a 500) to
        # build an error holding characters RFC 6749 §5.2 forbids; never echo it.
        mode = request.payload.data.get("response_mode")
        if mode is not None and mode != "query":
            # OAuth 2.0 Multiple Response Type Encoding Practices §2.1: the client reads its
            # answer where it asked for it, so one sent in the query would reach nobody. Shown to
            # the person (the OpenID errata's answer), never redirected; the value not echoed.
            raise InvalidRequestError(
                "This server answers in the query only: leave response_mode out or send response_mode=query."
            )
        redirect_uri = request.payload.redirect_uri
        if redirect_uri:
            if not client.check_redirect_uri(redirect_uri):
                raise InvalidRequestError("The redirect_uri is not registered for this client.")
            return redirect_uri
        if "openid" in (scope_to_list(request.payload.scope) or []):
            # OIDC Core §3.1.2.1: REQUIRED, even when the client registered only one. Shown to
            # the person, never redirected: no URI was named to send it to.
            raise InvalidRequestError("An OpenID Connect request must name its redirect_uri.")
        redirect_uri = client.get_default_redirect_uri()
        if not redirect_uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.", state=request.payload.state)
        return redirect_uri

    def get_authorization_code_model(self, client: Any) -> type:
        """The model that stores codes for `client`."""
        return self.authorization_code_model or find_related_model(client, AuthorizationCodeMixin)

    def get_authorization_code_lifetime(self) -> int:
        """Seconds an issued code stays valid."""
        if self.AUTHORIZATION_CODE_EXPIRES_IN is not None:
            return int(self.AUTHORIZATION_CODE_EXPIRES_IN)
        return int(_setting("OAUTH2_AUTHORIZATION_CODE_LIFETIME", 60))

    def save_authorization_code(self, code: str, request: Any) -> Any:
        """Store the code with its client, user, redirect URI, scope, PKCE challenge and expiry.

        Only fields the model has are filled: `client`/`client_id`, `user`/`user_id`, `code`,
        `redirect_uri`, `scope`, `code_challenge`, `code_challenge_method`, `nonce`, `expires_at`.
        """
        client = request.client
        model = self.get_authorization_code_model(client)
        data = request.payload.data
        names = field_names(model)
        values: dict[str, Any] = {
            "code": code,
            # Only what the request named: the token request must repeat it (RFC 6749 §4.1.3).
            "redirect_uri": request.payload.redirect_uri or "",
            "scope": request.scope or "",
            "code_challenge": data.get("code_challenge", ""),
            "code_challenge_method": data.get("code_challenge_method", ""),
            "nonce": data.get("nonce", ""),
            "audience": " ".join(getattr(request, "resources", None) or []),
            "expires_at": timezone.now() + timedelta(seconds=self.get_authorization_code_lifetime()),
        }
        values = {name: value for name, value in values.items() if name in names}
        values.update(_owner_filter(model, "client", client, client.get_client_id()))
        values.update(_owner_filter(model, "user", request.user, getattr(request.user, "pk", None)))
        return model._default_manager.create(**values)

    def query_authorization_code(self, code: str, client: Any) -> Any:
        """The unexpired code issued to `client`, or None; reports a replay of a redeemed code."""
        model = self.get_authorization_code_model(client)
        related = [name for name in ("client", "user") if relation_field(model, name) is not None]
        owner = _owner_filter(model, "client", client, client.get_client_id())
        found = model._default_manager.select_related(*related).filter(code=code, **owner).first()
        if found is None:
            redeemed = cache.get(self._redeemed_key(code))
            if redeemed is not None:
                self.report_replayed_code(redeemed, client)
            return None
        if found.is_expired():
            return None
        return found

    def delete_authorization_code(self, authorization_code: Any) -> bool:
        """Delete the code; False when it was already gone (redeemed by a concurrent request)."""
        model = type(authorization_code)
        deleted, _ = model._default_manager.filter(pk=authorization_code.pk).delete()
        if deleted:
            self.remember_redeemed_code(authorization_code)
        return bool(deleted)

    def authenticate_user(self, authorization_code: Any) -> Any:
        """The user who granted the code."""
        getter = getattr(authorization_code, "get_user", None)
        return getter() if getter else related_user(authorization_code)

    # -- replay detection --

    @staticmethod
    def _redeemed_key(code: str) -> str:
        return "server.oauth2:redeemed-code:" + hashlib.sha256(code.encode("utf-8")).hexdigest()

    def remember_redeemed_code(self, authorization_code: Any) -> None:
        """Keep a copy of a redeemed code in the cache so a second use can be reported."""
        snapshot = copy.copy(authorization_code)
        state = getattr(authorization_code, "_state", None)
        if state is not None:
            # Without cached relations: a pickled user would carry its password hash.
            snapshot._state = copy.copy(state)
            snapshot._state.fields_cache = {}
        code_value = getattr(authorization_code, "code", None)
        if code_value:
            cache.set(self._redeemed_key(code_value), snapshot, self.REDEEMED_CODE_MEMORY)

    def report_replayed_code(self, authorization_code: Any, client: Any = None) -> None:
        """Send `authorization_code_replayed` for a code presented after it was redeemed."""
        signals.authorization_code_replayed.send(
            sender=type(self),
            # authlib sets request.client only after the code lookup.
            client=client or self.request.client,
            code=authorization_code,
            request=_django_request(self.request),
        )

    # -- token endpoint --

    def validate_token_request(self) -> None:
        """authlib's checks (client, code, redirect_uri, PKCE); then the resources (RFC 8707
        §2.2: within the code's); `request.credential` is the code."""
        super().validate_token_request()
        self.request.credential = self.request.authorization_code
        self.resolve_resources(within=_audience_of(self.request.authorization_code))

    @hooked
    def create_token_response(self) -> tuple[int, dict, list]:
        """Redeem the code (once, atomically), then issue and save the token."""
        client = self.request.client
        authorization_code = self.request.authorization_code
        user = self.authenticate_user(authorization_code)
        if not user:
            raise InvalidGrantError("There is no 'user' for this code.")
        if not _is_active(user):
            raise InvalidGrantError("The user who granted this code is no longer active.")
        self.request.user = user
        self.request.credential = authorization_code
        with transaction.atomic():
            # Claim the code before issuing anything: of two concurrent exchanges, one wins.
            if self.delete_authorization_code(authorization_code) is False:
                self.report_replayed_code(authorization_code)
                raise InvalidGrantError("Invalid 'code' in request.")
            token = self.generate_token(
                user=user,
                scope=authorization_code.get_scope(),
                include_refresh_token=client.check_grant_type("refresh_token"),
            )
            self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


# --- refresh token ---------------------------------------------------------------------------


def _audience_of(credential: Any) -> list[str]:
    """The resources a code or token was granted for ([]: none named)."""
    getter = getattr(credential, "get_audience", None)
    if getter is not None:
        return list(getter() or [])
    return scope_to_list(getattr(credential, "audience", "") or "") or []


class RefreshTokenGrant(ResourceIndicators, rfc6749_grants.RefreshTokenGrant):
    """RFC 6749 §6 on Django models, rotating the refresh token on every use.

    Class attributes: `token_model` (default: found through the client model),
    `INCLUDE_NEW_REFRESH_TOKEN` (True: rotate), `REFRESH_TOKEN_EXPIRES_IN` (default: setting
    OAUTH2_REFRESH_TOKEN_LIFETIME; None = no limit; counted from the token's `issued_at`).
    """

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [*CONFIDENTIAL_CLIENT_METHODS, "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True
    REFRESH_TOKEN_EXPIRES_IN: int | None = None
    token_model: type | None = None

    def get_token_model(self, client: Any) -> type:
        """The model that stores tokens for `client`."""
        return self.token_model or find_related_model(client, TokenMixin)

    def get_refresh_token_lifetime(self) -> int | None:
        """Seconds a refresh token stays valid, None for no limit."""
        if self.REFRESH_TOKEN_EXPIRES_IN is not None:
            return int(self.REFRESH_TOKEN_EXPIRES_IN)
        lifetime = _setting("OAUTH2_REFRESH_TOKEN_LIFETIME", None)
        return int(lifetime) if lifetime else None

    def is_refresh_token_expired(self, token: Any) -> bool:
        """True when the refresh token outlived the configured lifetime."""
        lifetime = self.get_refresh_token_lifetime()
        issued_at = getattr(token, "issued_at", None)
        if not lifetime or issued_at is None:
            return False
        return timezone.now().timestamp() > int(issued_at) + lifetime

    def authenticate_refresh_token(self, refresh_token: str) -> Any:
        """The active token holding `refresh_token`, or None; reports reuse of a revoked one."""
        client = self.request.client
        model = self.get_token_model(client)
        related = [name for name in ("client", "user") if relation_field(model, name) is not None]
        token = model._default_manager.select_related(*related).filter(refresh_token=refresh_token).first()
        if token is None:
            return None
        if token.is_revoked():
            self.report_reused_refresh_token(token)
            return None
        if self.is_refresh_token_expired(token):
            return None
        return token

    def report_reused_refresh_token(self, token: Any) -> None:
        """Send `refresh_token_reused` for a revoked (e.g. already rotated) refresh token."""
        signals.refresh_token_reused.send(
            sender=type(self),
            client=self.request.client,
            token=token,
            request=_django_request(self.request),
        )

    def authenticate_user(self, refresh_token: Any) -> Any:
        """The user the refresh token acts for."""
        getter = getattr(refresh_token, "get_user", None)
        return getter() if getter else related_user(refresh_token)

    def revoke_old_credential(self, refresh_token: Any) -> bool:
        """Revoke the exchanged token; False when a concurrent request revoked it first."""
        return mark_token_revoked(refresh_token)

    def validate_token_request(self) -> None:
        """authlib's checks (client, token, scope not beyond the original); the resources
        (RFC 8707 §2.2: within the token's, a narrowing); `credential` is the old token."""
        check_scope_syntax(self.request.payload.scope)
        super().validate_token_request()
        self.request.credential = self.request.refresh_token
        self.resolve_resources(within=_audience_of(self.request.refresh_token))

    @hooked
    def create_token_response(self) -> tuple[int, dict, list]:
        """Revoke the old token (once, atomically), then issue and save the new one."""
        refresh_token = self.request.refresh_token
        user = self.authenticate_user(refresh_token)
        if not user:
            raise InvalidGrantError("There is no 'user' for this token.")
        if not _is_active(user):
            raise InvalidGrantError("The user of this refresh token is no longer active.")
        self.request.user = user
        self.request.credential = refresh_token
        with transaction.atomic():
            if self.revoke_old_credential(refresh_token) is False:
                self.report_reused_refresh_token(refresh_token)
                raise InvalidGrantError()
            token = self.issue_token(user, refresh_token)
            self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


# --- client credentials ----------------------------------------------------------------------


class ClientCredentialsGrant(_ScopeCheck, rfc6749_grants.ClientCredentialsGrant):
    """RFC 6749 §4.4 (authlib's), with requested scopes beyond the client's as invalid_scope."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CONFIDENTIAL_CLIENT_METHODS)

    def generate_token(self, user: Any = None, scope: str | None = None, **kwargs: Any) -> dict:
        # authlib hands over the raw requested scope; the token gets the one resolved (and
        # reported in the response) by validate_requested_scope: the default when none was named.
        return super().generate_token(user=user, scope=self.request.scope, **kwargs)
