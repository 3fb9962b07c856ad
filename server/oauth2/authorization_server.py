"""The spec's AuthorizationServer: authlib's grants answering Django requests.

The authorization and token endpoints, token generation and the default revocation and
introspection endpoints; parsing, client authentication and error answers come from
`ProtocolServer`. Every entry point sends the package's signals and never lets authlib's
deprecated call paths run (the tests turn AuthlibDeprecationWarning into errors).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError, UnsupportedGrantTypeError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant as _AuthlibCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from . import provisional, signals
from .endpoints import IntrospectionEndpoint, RevocationEndpoint
from .error_redirects import echoable_state, verified_redirect_uri
from .errors import OAuth2Error, UnsupportedResponseTypeError, clean_error_text, no_store
from .pkce import S256CodeChallenge
from .protocol_server import ProtocolServer
from .requests import (
    AUTHORIZATION_STYLE,
    TOKEN_STYLE,
    DjangoOAuth2Request,
    UnacceptedParametersError,
    within_limit,
)

__all__ = ["AuthorizationServer"]

ExpiresIn = int | dict[str, int] | Callable[[Any, str], int] | None
# RFC 8628 §3.5 answers that tell a polling device to keep waiting: not a refusal (a device polls
# every few seconds until its user answers), so no `token_request_refused` for them.
STILL_WAITING = frozenset({"authorization_pending", "slow_down"})


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
    return lambda **_kwargs: secrets.token_urlsafe(length)


class AuthorizationServer(ProtocolServer):
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
    that store the values: a longer one is invalid_request before anything is written),
    `resource_policy` (RFC 8707: a `resource_indicators.ResourcePolicy`: which resources exist,
    who may name them). `query_client` may return a provisional client (`provisional.py`)."""

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
        resource_policy: Any = None,
    ) -> None:
        super().__init__(
            query_client,
            issuer=issuer,
            scopes_supported=scopes_supported,
            realm=realm,
            parameter_limits=parameter_limits,
        )
        self._save_token = save_token
        self.require_pkce = require_pkce
        # RFC 8707 (resource_indicators.ResourcePolicy); None: the `resource` parameter is ignored.
        self.resource_policy = resource_policy
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

    def save_token(self, token: dict, request: OAuth2Request) -> Any:
        """Store `token` through the constructor's `save_token`, then send `token_issued`, in one
        transaction (the grant's, when it opened one): a receiver's writes commit with the token,
        and a receiver that raises rolls the token back."""
        if getattr(request, "credential", None) is None:
            request.credential = request.authorization_code or request.refresh_token
        with self.issuance_unit():
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
                client_auth_method=getattr(request, "auth_method", None),
            )
        return record

    def issuance_unit(self) -> AbstractContextManager:
        """The unit that stores a token or a code and runs its `token_issued` or `consent_granted`
        receivers: one transaction (`transaction.atomic`). A server may batch the write with its
        receivers' in a unit of its own that commits them together too."""
        return transaction.atomic(savepoint=False)

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

    # --- grants and endpoints ------------------------------------------------------------------

    def register_grant(self, grant_cls: type, extensions: list | None = None) -> None:
        """Register a grant class; authorization-code grants get PKCE (S256 only) unless
        `extensions` already holds a CodeChallenge."""
        extensions = list(extensions or [])
        if issubclass(grant_cls, _AuthlibCodeGrant) and not any(
            isinstance(e, CodeChallenge) for e in extensions
        ):
            required = self.require_pkce
            if required is None:
                required = bool(getattr(settings, "OAUTH2_REQUIRE_PKCE", True))
            extensions.append(S256CodeChallenge(required=required))
        super().register_grant(grant_cls, extensions)

    def get_authorization_grant(self, request: OAuth2Request) -> Any:
        """The registered grant for the request's response_type; errors never echo raw input."""
        response_type = request.payload.response_type
        if not response_type:
            raise InvalidRequestError(
                "Missing 'response_type' in request.",
                redirect_uri=self.error_redirect_uri(request.payload.datalist),
                state=request.payload.state,
            )
        for grant_cls, extensions in self._authorization_grants:
            if grant_cls.check_authorization_endpoint(request):
                grant = grant_cls(request, self)
                for extension in extensions or ():
                    extension(grant)
                return grant
        raise UnsupportedResponseTypeError(
            response_type,
            redirect_uri=self.error_redirect_uri(request.payload.datalist),
            state=request.payload.state,
        )

    def error_redirect_uri(self, params: Mapping[str, list[str]]) -> str | None:
        """Where an error about the authorization request with these parameters may be sent
        before a grant validated it (`error_redirects.verified_redirect_uri`); None: show it."""
        return verified_redirect_uri(self.query_client, params, self.parameter_limits)

    def parse_authorization_request(self, request: HttpRequest) -> DjangoOAuth2Request:
        """`parse_request`; a refused parameter is invalid_request for the verified redirect URI."""
        try:
            return self.parse_request(request, AUTHORIZATION_STYLE)
        except UnacceptedParametersError as error:
            error.redirect_uri = self.error_redirect_uri(error.params)
            error.state = echoable_state(error.params, self.parameter_limits)
            raise

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
        oauth_request = self.parse_authorization_request(request)
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
                oauth_request = self.parse_authorization_request(request)
                state = self.echoable_state(oauth_request)
                grant = self.get_authorization_grant(oauth_request)
                redirect_uri = grant.validate_authorization_request()
            response = self._decide(request, grant, redirect_uri, grant_user, remembered)
        except OAuth2Error as error:
            # A parser's error (no oauth_request) holds the state it may echo already.
            error.state = state if oauth_request is not None else error.state
            response = self.handle_error_response(request, error)
        except ValueError as exc:
            response = self.malformed_request_response(request, exc)
        if grant is not None:
            grant.execute_hook("after_authorization_response", response)
        self.execute_hook("after_create_authorization_response", response)
        return self.add_issuer(request, response)

    def _decide(
        self, request: HttpRequest, grant: Any, redirect_uri: str, grant_user: Any, remembered: bool
    ) -> HttpResponse:
        oauth_request = grant.request
        client = oauth_request.client
        if grant_user:
            # The code and `consent_granted` in one unit (`issuance_unit`; in the caller's
            # transaction when it opened one): a receiver's writes commit with the code.
            with self.issuance_unit():
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

    def add_issuer(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Add `iss` (RFC 9207) to a redirecting authorization response, errors included."""
        location = response.get("Location") if response.status_code in (301, 302, 303, 307) else None
        issuer = self.get_issuer(request)
        if location and issuer:
            response["Location"] = add_params_to_uri(location, [("iss", issuer)])
        return response

    # --- token endpoint ------------------------------------------------------------------------

    def create_token_response(self, request: HttpRequest) -> HttpResponse:
        """Answer a token request (RFC 6749 §3.2): POST, form body, JSON answer, never cached."""

        def answer(provisional_ok: bool) -> HttpResponse:
            oauth_request = self.parse_request(request, TOKEN_STYLE)
            grant = self.get_token_grant(oauth_request)
            # A provisional client only where nothing is spent before the token (provisional.py).
            with provisional.allowing(provisional_ok and provisional.eligible(grant, oauth_request)):
                try:
                    grant.validate_token_request()
                    return self.handle_response(*grant.create_token_response())
                except OAuth2Error as error:
                    provisional.refuse_unconfirmed(oauth_request.client)
                    self._report_refused(oauth_request, error)
                    raise

        return no_store(provisional.answered(lambda ok: self.answer_or_error(request, lambda: answer(ok))))

    def _report_refused(self, request: DjangoOAuth2Request, error: OAuth2Error) -> None:
        # Only once the client authenticated: before that, client_authentication_failed told.
        if request.client is None or error.error in STILL_WAITING:
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

    def create_revocation_response(self, request: HttpRequest) -> HttpResponse:
        """Answer an RFC 7009 revocation request with the registered RevocationEndpoint (or a
        default one that finds tokens through the client model)."""
        endpoint = self._endpoint_or_default(RevocationEndpoint)
        return self.respond_with_endpoint(endpoint, request)

    def create_introspection_response(self, request: HttpRequest) -> HttpResponse:
        """Answer an RFC 7662 introspection request with the registered IntrospectionEndpoint (or
        a default one that finds tokens through the client model)."""
        endpoint = self._endpoint_or_default(IntrospectionEndpoint)
        return self.respond_with_endpoint(endpoint, request)

    def _endpoint_or_default(self, endpoint_cls: type) -> Any:
        endpoints = self._endpoints.get(endpoint_cls.ENDPOINT_NAME)
        if endpoints:
            return endpoints[0]
        self.register_endpoint(endpoint_cls)
        return self._endpoints[endpoint_cls.ENDPOINT_NAME][0]
