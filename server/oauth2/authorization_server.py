"""The spec's AuthorizationServer: authlib's RFC logic answering Django requests.

Every entry point parses the request strictly (`requests.build_oauth2_request`), turns every
OAuth2Error into the RFC's JSON (or redirect) answer, sends the package's signals, and never lets
authlib's deprecated call paths run (the tests turn AuthlibDeprecationWarning into errors).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.endpoint import Endpoint
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidRequestError,
    UnsupportedGrantTypeError,
    UnsupportedResponseTypeError,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant as _AuthlibCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import signals
from .client_auth import (
    attempted_auth_method,
    basic_credentials_error,
    claimed_client_id,
    failed_authentication_text,
    is_authlib_methods_error,
    refuse_a_second_client,
)
from .errors import NO_STORE_HEADERS, OAuth2Error, clean_error_text, error_response, json_response
from .requests import (
    AUTHORIZATION_STYLE,
    DEFAULT_PARAMETER_LIMITS,
    TOKEN_STYLE,
    DjangoOAuth2Request,
    build_oauth2_request,
    within_limit,
)

__all__ = ["AuthorizationServer"]

# The start of the ValueError authlib raises for an error description it will not build.
_FORBIDDEN_DESCRIPTION = "Error description contains forbidden characters"

ExpiresIn = int | dict[str, int] | Callable[[Any, str], int] | None


class _ResolvedScopeTokenGenerator(BearerTokenGenerator):
    """Bearer tokens for the scope the grant already resolved.

    Every grant passes the scope it settled (the authorization request's, the code's, the
    refresh token's, client credentials' resolved one). It may still narrow (the client lost a
    scope since), but an empty scope stays empty: authlib would resolve "" again into the
    client's default and give the token more than was approved.
    """

    @staticmethod
    def get_allowed_scope(client: Any, scope: str | None) -> str:
        if not scope:
            return ""
        return BearerTokenGenerator.get_allowed_scope(client, scope)


def _token_generator(length: int) -> Callable[..., str]:
    def generate(**_kwargs: Any) -> str:
        return secrets.token_urlsafe(length)

    return generate


class AuthorizationServer(_AuthorizationServer):
    """Django OAuth 2.0 authorization server (authorization, token, revocation, introspection).

    `query_client(client_id)` returns the client or None; `save_token(token, request)` stores
    the token dict, reading `request.grant_type`, `request.client`, `request.user` and
    `request.credential` (the code or refresh token being exchanged); what it returns is passed
    to `token_issued` receivers as `record`.

    Options: `issuer` (RFC 9207 `iss`; default setting OAUTH2_ISSUER, else the request's
    origin), `scopes_supported`, `token_expires_in` (seconds, a {grant_type: seconds} dict or a
    `(client, grant_type) -> seconds` callable; default setting OAUTH2_ACCESS_TOKEN_LIFETIME or
    3600), `access_token_generator` / `refresh_token_generator` (callables; refresh False turns
    refresh tokens off), `require_pkce` (default setting OAUTH2_REQUIRE_PKCE or True), `realm`
    (for `WWW-Authenticate: Basic`), `parameter_limits` (the longest value accepted per
    parameter, merged over `requests.DEFAULT_PARAMETER_LIMITS`; keep them within the columns
    that store the values: a longer one is invalid_request before anything is written).
    """

    def __init__(
        self,
        query_client: Callable[[str], Any],
        save_token: Callable[..., Any],
        *,
        issuer: str | None = None,
        scopes_supported: list[str] | None = None,
        token_expires_in: ExpiresIn = None,
        access_token_generator: Callable[..., str] | None = None,
        refresh_token_generator: Callable[..., str] | bool | None = None,
        require_pkce: bool | None = None,
        realm: str | None = None,
        parameter_limits: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(scopes_supported=scopes_supported)
        self._query_client = query_client
        self._save_token = save_token
        self.issuer = (issuer or "").rstrip("/") or None
        self.realm = realm
        self.require_pkce = require_pkce
        self.parameter_limits = {**DEFAULT_PARAMETER_LIMITS, **(parameter_limits or {})}
        self.token_expires_in = token_expires_in
        self.register_token_generator(
            "default",
            self.create_bearer_token_generator(
                access_token_generator=access_token_generator,
                refresh_token_generator=refresh_token_generator,
            ),
        )

    def create_bearer_token_generator(
        self,
        access_token_generator: Callable[..., str] | None = None,
        refresh_token_generator: Callable[..., str] | bool | None = None,
        expires_generator: Callable[[Any, str], int] | int | None = None,
    ) -> BearerTokenGenerator:
        """A bearer-token generator: 256-bit random access tokens, 384-bit refresh tokens (False:
        none), lifetimes from `expires_generator` or `get_token_expires_in` (never authlib's
        10-day default for the code grant). Register it with `register_token_generator`."""
        if refresh_token_generator is False:
            refresh = None
        else:
            refresh = refresh_token_generator or _token_generator(48)
        return _ResolvedScopeTokenGenerator(
            access_token_generator=access_token_generator or _token_generator(32),
            refresh_token_generator=refresh,
            expires_generator=expires_generator
            if expires_generator is not None
            else self.get_token_expires_in,
        )

    # --- what authlib calls --------------------------------------------------------------------

    def query_client(self, client_id: str) -> Any:
        """The client with this OAuth client_id, or None (calls the constructor's `query_client`)."""
        if not client_id:
            return None
        return self._query_client(client_id)

    def save_token(self, token: dict, request: OAuth2Request) -> Any:
        """Store `token` through the constructor's `save_token`, then send `token_issued`."""
        if getattr(request, "credential", None) is None:
            request.credential = request.authorization_code or request.refresh_token
        record = self._save_token(token, request)
        signals.token_issued.send(
            sender=type(self),
            token=token,
            client=request.client,
            user=request.user,
            grant_type=request.payload.grant_type,
            scope=token.get("scope", ""),
            request=getattr(request, "django_request", None),
            record=record,
        )
        return record

    def get_token_expires_in(self, client: Any, grant_type: str) -> int:
        """Seconds an access token lives: the `token_expires_in` option, else the setting."""
        conf = self.token_expires_in
        default = int(getattr(settings, "OAUTH2_ACCESS_TOKEN_LIFETIME", 3600) or 3600)
        if callable(conf):
            return int(conf(client, grant_type))
        if isinstance(conf, dict):
            return int(conf.get(grant_type, default))
        if isinstance(conf, int):
            return conf
        return default

    def get_issuer(self, request: HttpRequest | None = None) -> str | None:
        """The issuer identifier: the option, the OAUTH2_ISSUER setting, else the request's origin."""
        issuer = self.issuer or (getattr(settings, "OAUTH2_ISSUER", "") or "").rstrip("/")
        if issuer:
            return issuer
        if request is None:
            return None
        return f"{request.scheme}://{request.get_host()}"

    def get_realm(self, request: HttpRequest | None = None) -> str:
        """The realm named in `WWW-Authenticate: Basic` challenges."""
        return self.realm or self.get_issuer(request) or "oauth2"

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signal hook. Client authentication and revocation signals are sent where the
        Django request is known (`authenticate_client`, the endpoints), so this only forwards a
        revocation reported by a plain authlib endpoint."""
        if name == "after_revoke_token":
            signals.token_revoked.send_robust(
                sender=type(self), token=kwargs.get("token"), client=kwargs.get("client"), request=None
            )

    def parse_request(self, request: HttpRequest, style: str) -> DjangoOAuth2Request:
        """`requests.build_oauth2_request` with this server's parameter limits."""
        return build_oauth2_request(request, style=style, limits=self.parameter_limits)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        """Wrap a Django request (authorization-endpoint rules); OAuth2Requests pass through."""
        if isinstance(request, OAuth2Request):
            return request
        return self.parse_request(request, AUTHORIZATION_STYLE)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> HttpResponse:
        """Turn authlib's (status, body, headers) into a Django response."""
        if isinstance(body, dict):
            return json_response(status, body, headers)
        response = HttpResponse(body or "", status=status)
        for name, value in headers:
            response[name] = value
        return response

    def handle_error_response(self, request: Any, error: OAuth2Error) -> HttpResponse:
        """The RFC's answer for `error` (JSON, or a redirect carrying it)."""
        django_request = getattr(request, "django_request", request)
        return error_response(
            error,
            realm=self.get_realm(django_request if isinstance(django_request, HttpRequest) else None),
            error_uri=self.get_error_uri(request, error),
        )

    def authenticate_client(self, request: OAuth2Request, methods: list[str], endpoint: str = "token") -> Any:
        """Authenticate the client and send `client_authenticated` / `client_authentication_failed`.

        Refuses an unreadable Basic header, more than one credential at once, and a body client_id
        naming another client than the Basic header (RFC 6749 §2.3).
        """
        django_request = getattr(request, "django_request", None)
        method = attempted_auth_method(request)
        claimed_id = claimed_client_id(request)
        try:
            if django_request is not None:
                broken = basic_credentials_error(django_request)
                if broken is not None:
                    raise broken
            if method == "client_secret_basic":
                refuse_a_second_client(request, claimed_id)
            client = super().authenticate_client(request, methods, endpoint)
        except OAuth2Error as error:
            if isinstance(error, InvalidClientError):
                if is_authlib_methods_error(error):
                    # authlib's text shows a Python list of method names; say it in words.
                    error.description = failed_authentication_text(methods)
                if method == "client_secret_basic":
                    # RFC 6749 §5.2: a failed Authorization-header attempt MUST be answered 401.
                    error.status_code = 401
            signals.client_authentication_failed.send(
                sender=type(self),
                client_id=claimed_id,
                request=django_request,
                method=method,
                reason=clean_error_text(error.get_error_description() or error.error),
            )
            raise
        # send_robust: see signals.py (a failing receiver is logged, the client still authenticated).
        signals.client_authenticated.send_robust(
            sender=type(self), client=client, request=django_request, method=request.auth_method
        )
        return client

    # --- grants and endpoints ------------------------------------------------------------------

    def register_grant(self, grant_cls: type, extensions: list | None = None) -> None:
        """Register a grant class; authorization-code grants get PKCE (S256 only) unless
        `extensions` already holds a CodeChallenge."""
        from .grants import S256CodeChallenge

        extensions = list(extensions or [])
        if issubclass(grant_cls, _AuthlibCodeGrant) and not any(
            isinstance(e, CodeChallenge) for e in extensions
        ):
            required = self.require_pkce
            if required is None:
                required = bool(getattr(settings, "OAUTH2_REQUIRE_PKCE", True))
            extensions.append(S256CodeChallenge(required=required))
        super().register_grant(grant_cls, extensions)

    def register_endpoint(self, endpoint: type[Endpoint] | Endpoint) -> None:
        """Add a RevocationEndpoint / IntrospectionEndpoint (an instance, or a class built with
        no arguments)."""
        if isinstance(endpoint, type):
            endpoint = endpoint(server=self)
        else:
            endpoint.server = self
        self._endpoints.setdefault(endpoint.ENDPOINT_NAME, []).append(endpoint)

    def get_authorization_grant(self, request: OAuth2Request) -> Any:
        """The registered grant for the request's response_type; errors never echo raw input."""
        response_type = request.payload.response_type
        if not response_type:
            raise InvalidRequestError("Missing 'response_type' in request.")
        for grant_cls, extensions in self._authorization_grants:
            if grant_cls.check_authorization_endpoint(request):
                grant = grant_cls(request, self)
                for extension in extensions or ():
                    extension(grant)
                return grant
        # RFC 6749 §4.1.2.1: redirect the error only to a redirect URI valid for a known client.
        redirect_uri = None
        client = self.query_client(request.payload.client_id)
        if client is not None:
            requested = request.payload.redirect_uri
            if requested:
                redirect_uri = requested if client.check_redirect_uri(requested) else None
            else:
                redirect_uri = client.get_default_redirect_uri() or None
        raise UnsupportedResponseTypeError(
            response_type,
            "The response_type is not supported by this server.",
            redirect_uri=redirect_uri,
            state=request.payload.state,
        )

    def get_token_grant(self, request: OAuth2Request) -> Any:
        """The registered grant for the request's grant_type."""
        if not request.payload.grant_type:
            raise InvalidRequestError("Missing 'grant_type' in request.")
        for grant_cls, extensions in self._token_grants:
            if grant_cls.check_token_endpoint(request):
                grant = grant_cls(request, self)
                for extension in extensions or ():
                    extension(grant)
                return grant
        error = UnsupportedGrantTypeError(clean_error_text(request.payload.grant_type, limit=60))
        raise error

    # --- authorization endpoint ----------------------------------------------------------------

    def validate_consent_request(self, request: HttpRequest, end_user: Any = None) -> Any:
        """Validate an authorization request before showing the consent page; return the grant.

        Raises OAuth2Error (with `state`) when the request is invalid; show the error instead of
        the page. The grant is kept on `request` so that `create_authorization_response` on the
        same request does not validate twice.
        """
        oauth_request = self.parse_request(request, AUTHORIZATION_STYLE)
        try:
            oauth_request.user = end_user
            grant = self.get_authorization_grant(oauth_request)
            grant.validate_no_multiple_request_parameter(oauth_request)
            grant.validate_consent_request()
        except OAuth2Error as error:
            error.state = self.echoable_state(oauth_request)
            raise
        request._oauth2_consent_grant = grant
        return grant

    def echoable_state(self, request: OAuth2Request) -> str | None:
        """The request's `state`, to repeat in an error, unless it is over its length limit
        (then the error says so and repeats nothing)."""
        return within_limit(request.payload.data, "state", self.parameter_limits)

    def get_consent_grant(self, request: Any = None, end_user: Any = None) -> Any:
        """authlib 1.9's name for `validate_consent_request`."""
        return self.validate_consent_request(request, end_user=end_user)

    def create_authorization_response(
        self, request: HttpRequest, grant_user: Any = None, grant: Any = None, *, remembered: bool = False
    ) -> HttpResponse:
        """Answer the consent decision: redirect with a code (`grant_user` given) or access_denied.

        Sends `consent_granted` / `consent_denied`; pass `remembered=True` when no page was shown
        because an earlier consent already covered the request (the signal says so, so that an
        audit log does not record a silent re-authorisation as a new consent). Every redirect
        carries `iss` (RFC 9207); errors before the redirect URI is trusted are answered as JSON 400.
        """
        oauth_request: DjangoOAuth2Request | None = None
        state = None
        try:
            grant = grant or getattr(request, "_oauth2_consent_grant", None)
            if grant is not None:
                oauth_request = grant.request
                state = self.echoable_state(oauth_request)
                redirect_uri = grant.redirect_uri or grant.validate_authorization_request()
            else:
                oauth_request = self.parse_request(request, AUTHORIZATION_STYLE)
                state = self.echoable_state(oauth_request)
                grant = self.get_authorization_grant(oauth_request)
                redirect_uri = grant.validate_authorization_request()
            response = self._decide(request, grant, redirect_uri, grant_user, remembered)
        except OAuth2Error as error:
            error.state = state
            response = self.handle_error_response(request, error)
        except ValueError as exc:
            response = self._malformed(request, exc)
        if grant is not None:
            grant.execute_hook("after_authorization_response", response)
        self.execute_hook("after_create_authorization_response", response)
        return self._add_issuer(request, response)

    def _decide(
        self, request: HttpRequest, grant: Any, redirect_uri: str, grant_user: Any, remembered: bool
    ) -> HttpResponse:
        oauth_request = grant.request
        client = oauth_request.client
        if grant_user:
            status, body, headers = grant.create_authorization_response(redirect_uri, grant_user)
            signals.consent_granted.send(
                sender=type(self),
                client=client,
                user=grant_user,
                scope=oauth_request.scope,
                request=request,
                remembered=remembered,
            )
            return self.handle_response(status, body, headers)
        user = getattr(request, "user", None)
        if user is not None and not getattr(user, "is_authenticated", False):
            user = None
        signals.consent_denied.send(
            sender=type(self), client=client, user=user, scope=oauth_request.scope, request=request
        )
        status, body, headers = grant.create_authorization_response(redirect_uri, None)
        return self.handle_response(status, body, headers)

    def _add_issuer(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        location = response.get("Location") if response.status_code in (301, 302, 303, 307) else None
        issuer = self.get_issuer(request)
        if location and issuer:
            response["Location"] = add_params_to_uri(location, [("iss", issuer)])
        return response

    # --- token endpoint ------------------------------------------------------------------------

    def create_token_response(self, request: HttpRequest) -> HttpResponse:
        """Answer a token request (RFC 6749 §3.2): POST, form body, JSON answer, never cached."""

        def answer() -> HttpResponse:
            oauth_request = self.parse_request(request, TOKEN_STYLE)
            grant = self.get_token_grant(oauth_request)
            try:
                grant.validate_token_request()
                return self.handle_response(*grant.create_token_response())
            except OAuth2Error as error:
                self._report_refused(oauth_request, error)
                raise

        return _no_store(self._answer_or_error(request, answer))

    def _report_refused(self, request: DjangoOAuth2Request, error: OAuth2Error) -> None:
        # Only once the client authenticated: before that, client_authentication_failed told.
        if request.client is None:
            return
        signals.token_request_refused.send_robust(
            sender=type(self),
            client=request.client,
            grant_type=request.payload.grant_type,
            error=error.error,
            description=clean_error_text(error.get_error_description()),
            request=request.django_request,
        )

    # --- revocation and introspection ----------------------------------------------------------

    def create_endpoint_response(self, name: str, request: Any = None) -> HttpResponse:
        """Answer a request to the registered endpoint called `name` ("revocation", "introspection")."""
        endpoints = self._endpoints.get(name)
        if not endpoints:
            raise RuntimeError(f"There is no '{name}' endpoint; register one with register_endpoint().")
        return self.respond_with_endpoint(endpoints[0], request)

    def respond_with_endpoint(self, endpoint: Any, request: HttpRequest) -> HttpResponse:
        """Run `endpoint` on a strictly parsed POST form; JSON answer, never cached."""

        def answer() -> HttpResponse:
            oauth_request = self.parse_request(request, TOKEN_STYLE)
            return self.handle_response(*endpoint.create_endpoint_response(oauth_request))

        return _no_store(self._answer_or_error(request, answer))

    def create_revocation_response(self, request: HttpRequest) -> HttpResponse:
        """Answer an RFC 7009 revocation request with the registered RevocationEndpoint (or a
        default one that finds tokens through the client model)."""
        from .endpoints import RevocationEndpoint

        endpoint = self._endpoint_or_default(RevocationEndpoint)
        return self.respond_with_endpoint(endpoint, request)

    def create_introspection_response(self, request: HttpRequest) -> HttpResponse:
        """Answer an RFC 7662 introspection request with the registered IntrospectionEndpoint (or
        a default one that finds tokens through the client model)."""
        from .endpoints import IntrospectionEndpoint

        endpoint = self._endpoint_or_default(IntrospectionEndpoint)
        return self.respond_with_endpoint(endpoint, request)

    # --- shared error handling -----------------------------------------------------------------

    def _answer_or_error(self, request: HttpRequest, answer: Callable[[], HttpResponse]) -> HttpResponse:
        try:
            return answer()
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        except ValueError as exc:
            return self._malformed(request, exc)

    def _malformed(self, request: HttpRequest, exc: ValueError) -> HttpResponse:
        # authlib refuses to build an error whose description echoes characters RFC 6749 §5.2
        # forbids (ValueError); answer a plain invalid_request instead of a 500.
        if _FORBIDDEN_DESCRIPTION not in str(exc):
            raise exc
        return self.handle_error_response(request, InvalidRequestError("The request is malformed."))

    def _endpoint_or_default(self, endpoint_cls: type) -> Any:
        endpoints = self._endpoints.get(endpoint_cls.ENDPOINT_NAME)
        if endpoints:
            return endpoints[0]
        self.register_endpoint(endpoint_cls)
        return self._endpoints[endpoint_cls.ENDPOINT_NAME][0]


def _no_store(response: HttpResponse) -> HttpResponse:
    for name, value in NO_STORE_HEADERS:
        response[name] = value
    return response
