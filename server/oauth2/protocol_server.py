"""ProtocolServer: what every endpoint of the package needs from an authlib server.

Parse a Django request strictly (a form for the OAuth endpoints, JSON for registration),
authenticate the client, turn every OAuth2Error into the RFC's JSON answer, never cache a
credential-bearing answer. `AuthorizationServer` adds the grants (authorize, token) on top; a
standalone RevocationEndpoint or IntrospectionEndpoint runs on a bare ProtocolServer. Keeping
this apart from both is what lets endpoints.py and authorization_server.py not import each other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer as _AuthlibServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.endpoint import Endpoint
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint as _AuthlibRegistrationEndpoint
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint as _AuthlibConfigurationEndpoint
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import provisional, signals
from .client_auth import (
    attempted_auth_method,
    authenticate_client_secret_basic,
    basic_credentials_error,
    body_client_id,
    claimed_client_id,
    failed_authentication_text,
    is_authlib_methods_error,
    refuse_a_second_client,
)
from .errors import OAuth2Error, clean_error_text, error_response, json_response, no_store
from .requests import (
    AUTHORIZATION_STYLE,
    DEFAULT_PARAMETER_LIMITS,
    TOKEN_STYLE,
    DjangoJsonRequest,
    DjangoOAuth2Request,
    build_oauth2_request,
)

__all__ = ["ProtocolServer"]

# The start of the ValueError authlib raises for an error description it will not build.
_FORBIDDEN_DESCRIPTION = "Error description contains forbidden characters"
# The client the running authentication looked up last (None: none, or not found).
_looked_up: ContextVar[Any] = ContextVar("looked_up_client", default=None)
# Endpoints whose requests are JSON documents (RFC 7591 §3.1, RFC 7592 §2.2), not forms.
JSON_ENDPOINTS = (_AuthlibRegistrationEndpoint, _AuthlibConfigurationEndpoint)


class ProtocolServer(_AuthlibServer):
    """An authlib server answering Django requests for the endpoints registered on it.

    `query_client(client_id)` returns the client or None. Options: `issuer` (default setting
    OAUTH2_ISSUER, else the request's origin), `realm` (for `WWW-Authenticate: Basic`),
    `parameter_limits` (merged over `requests.DEFAULT_PARAMETER_LIMITS`), `scopes_supported`.
    """

    def __init__(
        self,
        query_client: Callable[[str], Any],
        *,
        issuer: str | None = None,
        scopes_supported: list[str] | None = None,
        realm: str | None = None,
        parameter_limits: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(scopes_supported=scopes_supported)
        self._query_client = query_client
        self.issuer = (issuer or "").rstrip("/") or None
        self.realm = realm
        self.parameter_limits = {**DEFAULT_PARAMETER_LIMITS, **(parameter_limits or {})}
        # The one Basic reader authenticates too (authlib's own reads headers ours does not), on
        # the request's one decoding of the header.
        self.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)

    def query_client(self, client_id: str) -> Any:
        """The client with this OAuth client_id, or None (calls the constructor's `query_client`)."""
        if not client_id:
            return None
        client = self._query_client(client_id)
        _looked_up.set(client)
        return client

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
        revocation reported by a plain authlib endpoint; registration's events are the caller's
        (its hooks know what was written)."""
        if name == "after_revoke_token":
            signals.token_revoked.send_robust(
                sender=type(self), token=kwargs.get("token"), client=kwargs.get("client"), request=None
            )

    # --- requests and responses ----------------------------------------------------------------

    def parse_request(self, request: HttpRequest, style: str) -> DjangoOAuth2Request:
        """`requests.build_oauth2_request` with this server's parameter limits."""
        return build_oauth2_request(request, style=style, limits=self.parameter_limits)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        """Wrap a Django request (authorization-endpoint rules); OAuth2Requests pass through."""
        if isinstance(request, OAuth2Request):
            return request
        return self.parse_request(request, AUTHORIZATION_STYLE)

    def create_json_request(self, request: HttpRequest) -> DjangoJsonRequest:
        """Wrap a Django request whose body is JSON (client registration); read on first use."""
        return DjangoJsonRequest(request)

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

    # --- client authentication -----------------------------------------------------------------

    def authenticate_client(self, request: OAuth2Request, methods: list[str], endpoint: str = "token") -> Any:
        """Authenticate the client and send `client_authenticated` / `client_authentication_failed`.

        Refuses an unreadable Basic header, more than one credential at once, and a body client_id
        naming another client than the Basic header (RFC 6749 §2.3).
        """
        django_request = getattr(request, "django_request", None)
        method = attempted_auth_method(request)
        claimed_id = claimed_client_id(
            django_request if isinstance(django_request, HttpRequest) else request.headers,
            body_client_id(request.form),
        )
        # Only the methods registered on this server (private_key_jwt is one to register).
        methods = self.supported_auth_methods(methods)
        looking_up = _looked_up.set(None)
        try:
            if django_request is not None:
                broken = basic_credentials_error(django_request)
                if broken is not None:
                    raise broken
            if method == "client_secret_basic":
                refuse_a_second_client(request, claimed_id)
            if method == "private_key_jwt" and "client_secret" in request.form:
                raise InvalidRequestError(
                    "Use one client authentication method, not a client_assertion and a secret."
                )
            client = super().authenticate_client(request, methods, endpoint)
        except OAuth2Error as error:
            provisional.refuse_unconfirmed(_looked_up.get())
            if isinstance(error, InvalidClientError):
                if is_authlib_methods_error(error):
                    # authlib's text shows a Python list of method names; say it in words.
                    error.description = failed_authentication_text(methods)
                if method in ("client_secret_basic", "private_key_jwt"):
                    # RFC 6749 §5.2: a failed Authorization-header attempt MUST be answered 401;
                    # a refused assertion is as plainly a failed authentication.
                    error.status_code = 401
            signals.client_authentication_failed.send(
                sender=type(self),
                client_id=claimed_id,
                request=django_request,
                method=method,
                reason=clean_error_text(error.get_error_description() or error.error),
                public=self._is_public_client(_looked_up.get(), claimed_id),
            )
            raise
        finally:
            _looked_up.reset(looking_up)
        # send_robust: see signals.py (a failing receiver is logged, the client still authenticated).
        send = functools.partial(
            signals.client_authenticated.send_robust,
            sender=type(self),
            client=client,
            request=django_request,
            method=request.auth_method,
        )
        provisional.announce(client, send)
        return client

    @staticmethod
    def _is_public_client(client: Any, claimed_id: str | None) -> bool:
        """Whether the failed attempt claimed a public client, which holds no secret or key to
        guess: a failure claiming it is no guess (the secret-guessing lockout skips it)."""
        return (
            client is not None
            and claimed_id is not None
            and client.get_client_id() == claimed_id
            and client.check_endpoint_auth_method("none", "token")
        )

    def client_auth_methods(self) -> set[str]:
        """The names of the client authentication methods registered on this server: authlib's
        three, and those added with `register_client_auth_method` (such as private_key_jwt)."""
        if self._client_auth is None:
            return {"none", "client_secret_basic", "client_secret_post"}
        return set(self._client_auth._methods)

    def supported_auth_methods(self, methods: list[str]) -> list[str]:
        """`methods` (an endpoint's or grant's list) without those not registered here: what
        the server's metadata may advertise."""
        registered = self.client_auth_methods()
        return [m for m in methods if m in registered]

    def endpoint_auth_methods(self, name: str) -> list[str]:
        """What RFC 8414 §2 lists as `<name>_endpoint_auth_methods_supported`: the methods the
        endpoint accepts, read from what answers its requests, so the metadata cannot drift from
        them. "token": every registered grant's; another name: its registered endpoint's."""
        if name == "token":
            lists = [grant_cls.TOKEN_ENDPOINT_AUTH_METHODS for grant_cls, _ in self._token_grants]
        else:
            lists = [endpoint.CLIENT_AUTH_METHODS for endpoint in self._endpoints.get(name, [])[:1]]
        return self.supported_auth_methods(list(dict.fromkeys(m for methods in lists for m in methods)))

    # --- endpoints -----------------------------------------------------------------------------

    def register_endpoint(self, endpoint: type[Endpoint] | Endpoint) -> None:
        """Add an endpoint (revocation, introspection, client registration or configuration):
        an instance, or a class built with no arguments."""
        if isinstance(endpoint, type):
            endpoint = endpoint(server=self)
        else:
            endpoint.server = self
        self._endpoints.setdefault(endpoint.ENDPOINT_NAME, []).append(endpoint)

    def create_endpoint_response(self, name: str, request: Any = None) -> HttpResponse:
        """Answer a request to the registered endpoint called `name` ("revocation",
        "introspection", "client_registration", "client_configuration")."""
        endpoints = self._endpoints.get(name)
        if not endpoints:
            raise RuntimeError(f"There is no '{name}' endpoint; register one with register_endpoint().")
        return self.respond_with_endpoint(endpoints[0], request)

    def respond_with_endpoint(self, endpoint: Any, request: HttpRequest) -> HttpResponse:
        """Run `endpoint` on a strictly parsed request (a POST form, or JSON for registration);
        JSON answer, never cached."""

        def answer() -> HttpResponse:
            if isinstance(endpoint, JSON_ENDPOINTS):
                return self.handle_response(*endpoint(self.create_json_request(request)))
            # An endpoint may name its own parsing rules (the device authorization endpoint's).
            style = getattr(endpoint, "REQUEST_STYLE", TOKEN_STYLE)
            oauth_request = self.parse_request(request, style)
            return self.handle_response(*endpoint.create_endpoint_response(oauth_request))

        return no_store(self.answer_or_error(request, answer))

    def answer_or_error(self, request: HttpRequest, answer: Callable[[], HttpResponse]) -> HttpResponse:
        """`answer()`, or the RFC's error answer for the OAuth2Error it raised."""
        try:
            return answer()
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        except ValueError as exc:
            return self.malformed_request_response(request, exc)

    def malformed_request_response(self, request: HttpRequest, exc: ValueError) -> HttpResponse:
        """invalid_request for authlib's refusal to build an error whose description echoes
        characters RFC 6749 §5.2 forbids (a ValueError, a 500 otherwise); other errors re-raise."""
        if _FORBIDDEN_DESCRIPTION not in str(exc):
            raise exc
        return self.handle_error_response(request, InvalidRequestError("The request is malformed."))
