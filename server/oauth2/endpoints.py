"""Token revocation (RFC 7009) and introspection (RFC 7662) endpoints in the spec's style.

Both take plain callables (`query_token`, `revoke_token` / `introspect_token`) or, without them,
find the token model through the authenticated client's reverse relations, as the grants do.
Register them with `AuthorizationServer.register_endpoint(...)`, or use them standalone by
passing `server=` or `query_client=`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from . import signals
from .client_auth import CONFIDENTIAL_CLIENT_METHODS
from .errors import UnsupportedTokenTypeError
from .mixins import (
    TokenMixin,
    belongs_to_client,
    find_related_model,
    mark_token_revoked,
    oauth_client_id,
    related_user,
)
from .protocol_server import ProtocolServer
from .resource_indicators import check_resource_uri

__all__ = ["IntrospectionEndpoint", "RevocationEndpoint"]

TOKEN_TYPE_HINTS = ("access_token", "refresh_token")


class _TokenLookup:
    """What both endpoints share: a server for client authentication, parameter checks, ORM lookup."""

    SUPPORTED_TOKEN_TYPES = TOKEN_TYPE_HINTS

    def _bind_server(self, server: Any, query_client: Callable | None) -> None:
        if server is None and query_client is not None:
            server = ProtocolServer(query_client)
        self.server = server

    def _require_server(self) -> Any:
        if self.server is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} needs a server: register it with "
                "AuthorizationServer.register_endpoint(), or pass server= or query_client=."
            )
        return self.server

    def check_params(self, request: Any, client: Any = None) -> None:
        """`token` is required; `token_type_hint`, if given, is access_token or refresh_token."""
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token' in request.")
        hint = request.form.get("token_type_hint")
        if hint and hint not in self.SUPPORTED_TOKEN_TYPES:
            raise UnsupportedTokenTypeError()

    def query_token_by_model(self, token: str, token_type_hint: str | None, client: Any) -> Any:
        """Look `token` up in the client's token model, the hinted column first, then the other
        (RFC 7009 §2.1: a wrong hint must not hide the token)."""
        model = find_related_model(client, TokenMixin)
        order = (
            ["refresh_token", "access_token"]
            if token_type_hint == "refresh_token"
            else list(TOKEN_TYPE_HINTS)
        )
        names = {field.name for field in model._meta.concrete_fields}
        for column in order:
            if column not in names:
                continue
            found = model._default_manager.filter(**{column: token}).first()
            if found is not None:
                # Remember which kind of token matched: a refresh token outlives its access token.
                found._oauth2_matched = column
                return found
        return None


class RevocationEndpoint(_TokenLookup, _RevocationEndpoint):
    """RFC 7009 token revocation.

    `query_token(token, token_type_hint, client)` returns the token object or None;
    `revoke_token(token, client)` revokes it. The client must authenticate (public clients
    with their client_id); a token of another client, or an unknown token, is answered 200
    and nothing is revoked (RFC 7009 §2.2). Sends `token_revoked` for each revocation.
    """

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [*CONFIDENTIAL_CLIENT_METHODS, "none"]

    def __init__(
        self,
        query_token: Callable[..., Any] | None = None,
        revoke_token: Callable[..., Any] | None = None,
        *,
        server: Any = None,
        query_client: Callable[[str], Any] | None = None,
    ) -> None:
        super().__init__(None)
        self._query_token = query_token
        self._revoke_token = revoke_token
        self._bind_server(server, query_client)

    def create_revocation_response(self, request: HttpRequest) -> HttpResponse:
        """Answer a revocation request (POST, form body) with this endpoint."""
        return self._require_server().respond_with_endpoint(self, request)

    def query_token(self, token: str, token_type_hint: str | None = None, client: Any = None) -> Any:
        """The token object for the `token` string, or None."""
        if self._query_token is not None:
            return self._query_token(token, token_type_hint, client)
        return self.query_token_by_model(token, token_type_hint, client)

    def revoke_token(self, token: Any, client: Any = None) -> None:
        """Revoke `token` (default: set its `revoked` flag or `revoked_at`)."""
        if self._revoke_token is not None:
            self._revoke_token(token, client)
        else:
            mark_token_revoked(token)

    def authenticate_token(self, request: Any, client: Any) -> Any:
        """The token named by the request if it belongs to `client`, else None."""
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"), client)
        if token is None or not self.token_belongs_to(token, client):
            return None
        return token

    def token_belongs_to(self, token: Any, client: Any) -> bool:
        """True when `token` was issued to `client`."""
        check = getattr(token, "check_client", None)
        return bool(check(client)) if check else belongs_to_client(token, client)

    def create_endpoint_response(self, request: Any) -> tuple[int, dict, list]:
        """Authenticate the client, revoke its token if found, answer 200 in every such case."""
        client = self.authenticate_endpoint_client(request)
        token = self.authenticate_token(request, client)
        if token is not None:
            self.revoke_token(token, client)
            # send_robust: the token is revoked already; a failing receiver must not answer 500.
            signals.token_revoked.send_robust(
                sender=type(self),
                token=token,
                request=getattr(request, "django_request", None),
                client=client,
            )
        return 200, {}, default_json_headers


class IntrospectionEndpoint(_TokenLookup, _IntrospectionEndpoint):
    """RFC 7662 token introspection.

    `query_token(token, token_type_hint, client)` returns the token object or None;
    `introspect_token(token)` returns the metadata dict (default: built from TokenMixin).
    `check_permission(token, client, request)` decides who may see a token (default: only the
    client it was issued to). Unknown, expired, revoked or not-permitted tokens are
    `{"active": false}`.

    The audience (RFC 8707) is honoured here, not left to the resource server: a client that
    serves resources (`get_served_resources` returns their identifiers) sees a token as active
    only when the token's audience names one of them, and a request naming a `resource` (one
    absolute URI) sees it active only when the audience names that resource. Otherwise the
    answer is `{"active": false}`, exactly as for an unknown token (RFC 7662 §2.2). A token
    whose audience is None (`get_token_audience`: not audience-restricted) passes both checks,
    as at `ResourceProtector`.
    """

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(CONFIDENTIAL_CLIENT_METHODS)

    def __init__(
        self,
        query_token: Callable[..., Any] | None = None,
        introspect_token: Callable[[Any], dict] | None = None,
        *,
        server: Any = None,
        query_client: Callable[[str], Any] | None = None,
        issuer: str | None = None,
    ) -> None:
        super().__init__(None)
        self._query_token = query_token
        self._introspect_token = introspect_token
        self.issuer = issuer
        self._bind_server(server, query_client)

    def create_introspection_response(self, request: HttpRequest) -> HttpResponse:
        """Answer an introspection request (POST, form body) with this endpoint."""
        return self._require_server().respond_with_endpoint(self, request)

    def query_token(self, token: str, token_type_hint: str | None = None, client: Any = None) -> Any:
        """The token object for the `token` string, or None."""
        if self._query_token is not None:
            return self._query_token(token, token_type_hint, client)
        return self.query_token_by_model(token, token_type_hint, client)

    def check_permission(self, token: Any, client: Any, request: Any) -> bool:
        """May `client` introspect `token`? Default: only the client the token was issued to."""
        check = getattr(token, "check_client", None)
        return bool(check(client)) if check else belongs_to_client(token, client)

    def is_active(self, token: Any) -> bool:
        """Not revoked, and not expired (a matched refresh token ignores the access token's expiry)."""
        is_revoked = getattr(token, "is_revoked", None)
        if is_revoked is not None and is_revoked():
            return False
        matched = getattr(token, "_oauth2_matched", None) or getattr(token, "matched_as", None)
        if matched == "refresh_token":
            return True
        is_expired = getattr(token, "is_expired", None)
        return not (is_expired is not None and is_expired())

    def introspect_token(self, token: Any) -> dict:
        """RFC 7662 §2.2 metadata: active, scope, client_id, username, token_type, exp, iat, sub, aud, iss."""
        if self._introspect_token is not None:
            return self._introspect_token(token)
        getter = getattr(token, "get_user", None)
        user = getter() if getter else related_user(token)
        client_id = token.get_client_id() if hasattr(token, "get_client_id") else oauth_client_id(token)
        expires_at = token.get_expires_at() if hasattr(token, "get_expires_at") else None
        issued_at = getattr(token, "issued_at", None)
        payload = {
            "active": True,
            "scope": token.get_scope(),
            "client_id": client_id,
            "username": user.get_username() if user is not None else None,
            "token_type": getattr(token, "token_type", None) or "Bearer",
            "exp": expires_at or None,
            "iat": int(issued_at) if issued_at is not None else None,
            "sub": str(user.pk) if user is not None else None,
            "aud": client_id,
            "iss": self.issuer,
        }
        if getattr(token, "_oauth2_matched", None) == "refresh_token":
            payload["token_type"] = "refresh_token"
            payload.pop("exp")
        return {name: value for name, value in payload.items() if value is not None}

    def get_token_audience(self, token: Any, request: HttpRequest | None) -> list[str] | None:
        """The resources (RFC 8707) the token is for, reported as `aud`; None: not restricted
        (default: `token.get_audience()` when the token has it)."""
        getter = getattr(token, "get_audience", None)
        return (list(getter() or []) or None) if getter is not None else None

    def get_served_resources(self, token: Any, client: Any, request: HttpRequest | None) -> list[str] | None:
        """The identifiers of the resources `client` serves as a resource server (the audiences
        it may see tokens for), or None when it serves none (then no audience rule applies).
        Default: None."""
        return None

    def requested_resource(self, request: Any) -> str | None:
        """The request's `resource`: the one resource the asker wants the token checked for.
        Checked as RFC 8707 §2 checks it (absolute URI, no fragment: else invalid_target);
        named twice: invalid_request (a resource server asks for itself)."""
        payload = getattr(request, "payload", None)
        values = (getattr(payload, "datalist", None) or {}).get("resource") or []
        if not values:
            return None
        if len(values) > 1:
            raise InvalidRequestError("Name one 'resource' in an introspection request.")
        return check_resource_uri(values[0])

    def meant_for(self, audience: list[str] | None, served: list[str] | None, resource: str | None) -> bool:
        """Whether a token with `audience` may be shown active to a client serving `served`
        that names `resource`."""
        if audience is None:
            return True
        if served is not None and not set(served) & set(audience):
            return False
        return resource is None or resource in audience

    def _issuer(self, request: HttpRequest | None) -> str | None:
        if self.issuer:
            return self.issuer
        server = self.server
        return server.get_issuer(request) if server is not None and hasattr(server, "get_issuer") else None

    def create_endpoint_response(self, request: Any) -> tuple[int, dict, list]:
        """Authenticate the client, then describe the token (or say it is not active)."""
        client = self.authenticate_endpoint_client(request)
        self.check_params(request, client)
        resource = self.requested_resource(request)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"), client)
        django_request = getattr(request, "django_request", None)
        if token is None or not self.check_permission(token, client, django_request):
            return 200, {"active": False}, default_json_headers
        if not self.is_active(token):
            return 200, {"active": False}, default_json_headers
        audience = self.get_token_audience(token, django_request)
        served = self.get_served_resources(token, client, django_request)
        if not self.meant_for(audience, served, resource):
            # RFC 7662 §2.2: nothing said of a token meant for another resource, not even that
            # it exists.
            return 200, {"active": False}, default_json_headers
        payload = self.introspect_token(token)
        payload.setdefault("active", True)
        if not payload["active"]:
            # RFC 7662 §2.2: an inactive token is described by "active" alone.
            return 200, {"active": False}, default_json_headers
        if audience:
            # RFC 7662 §2.2 / RFC 7519 §4.1.3: one audience as a string, several as an array; a
            # resource server checks that its own identifier is among them.
            payload["aud"] = audience[0] if len(audience) == 1 else audience
        if self._introspect_token is None:
            # The issuer may come from the request's origin, which introspect_token cannot see.
            issuer = self._issuer(django_request)
            if issuer:
                payload.setdefault("iss", issuer)
        return 200, payload, default_json_headers
