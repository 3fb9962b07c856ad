"""Protecting Django views with bearer tokens (RFC 6750): ResourceProtector and BearerTokenValidator.

The validator's spec hooks (`authenticate_token`, `token_expired`, `token_revoked`,
`request_invalid`, `get_token_scopes`) decide, in that order (authlib's would skip all but the
first). Errors are JSON with the RFC 6750 §3 challenge. A token accepted once is kept on the
request: `acquire_token` in a decorated view costs no second lookup, `token_authenticated` is sent once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import ResourceProtector as _ResourceProtector
from authlib.oauth2.rfc6749 import TokenValidator
from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    MissingAuthorizationError,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator as _BearerTokenValidator
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError
from django.conf import settings
from django.core.exceptions import DisallowedHost, ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from . import signals
from .bodies import read_form, read_query
from .csrf import csrf_refusal
from .errors import NO_STORE_HEADERS, OAuth2Error, challenge_header, json_response, prepare_error
from .resource_metadata import ProtectedResource

__all__ = ["BearerTokenValidator", "ResourceProtector"]

# RFC 6750 §2.1 b64token; anything else cannot be one of our tokens, so it never reaches the
# database (where, e.g., a NUL would raise instead of matching nothing).
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_TOKEN_LENGTH = 4096

_CACHE_ATTR = "_oauth2_accepted_tokens"


def as_scope_list(scopes: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    """Normalise a decorator's scopes: a string is one requirement, not a list of characters."""
    if scopes is None:
        return None
    if isinstance(scopes, str):
        return [scopes]
    return list(scopes)


class BearerTokenValidator(_BearerTokenValidator):
    """Validate bearer tokens stored in a Django model (or anywhere, by overriding the hooks).

    `token_model`: the model `authenticate_token` reads by `access_token`; `realm`: named in
    `WWW-Authenticate` (default: setting OAUTH2_ISSUER, else the request's host).
    """

    def __init__(self, token_model: type | None = None, realm: str | None = None, **extra_attributes: Any):
        super().__init__(realm, **extra_attributes)
        self.token_model = token_model

    def authenticate_token(self, token_string: str) -> Any:
        """The token object for `token_string`, or None (default: look it up by `access_token`)."""
        if self.token_model is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} needs a token_model, or an authenticate_token() override."
            )
        try:
            return self.token_model.objects.get(access_token=token_string)
        except self.token_model.DoesNotExist:
            return None

    def request_invalid(self, request: HttpRequest) -> bool:
        """True to refuse the request (400 invalid_request) although its token is good."""
        return False

    def token_revoked(self, token: Any) -> bool:
        """True when the token was revoked (default: `token.is_revoked()`)."""
        return bool(token.is_revoked())

    def token_expired(self, token: Any) -> bool:
        """True when the token expired (default: `token.is_expired()`)."""
        return bool(token.is_expired())

    def get_token_scopes(self, token: Any) -> list[str]:
        """The token's scopes as a list (default: `token.get_scope()` split on spaces)."""
        return scope_to_list(token.get_scope()) or []

    def get_token_audience(self, token: Any, request: Any) -> list[str] | None:
        """The resources (RFC 8707) the token is restricted to, or None when it is not
        audience-restricted (default: `token.get_audience()` when the token has it, else None)."""
        getter = getattr(token, "get_audience", None)
        return (list(getter() or []) or None) if getter is not None else None

    def validate_request(self, request: Any) -> None:
        """authlib's request hook, answered by `request_invalid`."""
        if self.request_invalid(request):
            raise InvalidRequestError("The request is not acceptable for this resource.")

    def validate_token(self, token: Any, scopes: list[str] | None, request: Any) -> None:
        """Check the token (exists, not expired, not revoked), the request, then the scopes."""
        self.validate_token_state(token, request)
        self.validate_token_scopes(token, scopes)

    def validate_token_state(self, token: Any, request: Any) -> None:
        """Raise InvalidTokenError / InvalidRequestError unless the token is usable for `request`."""
        if not token:
            raise InvalidTokenError("The access token is not valid.", realm=self.realm)
        if self.token_expired(token):
            raise InvalidTokenError("The access token expired.", realm=self.realm)
        if self.token_revoked(token):
            raise InvalidTokenError("The access token was revoked.", realm=self.realm)
        self.validate_request(request)

    def validate_token_scopes(self, token: Any, scopes: list[str] | None) -> None:
        """Raise InsufficientScopeError unless one of `scopes` (each "a b" = all of a, b) is granted."""
        if self.scope_insufficient(self.get_token_scopes(token), scopes):
            raise InsufficientScopeError()


@dataclass
class _Accepted:
    validator: Any
    token: Any
    announced: bool = False


class ResourceProtector(_ResourceProtector):
    """Protect views: `@require_oauth('profile')`, `@require_oauth(['a', 'b'])` (a or b),
    `@require_oauth(optional=True)`, `@require_oauth()`.

    `require_oauth`: an optional validator to register at once (an instance, or a class /
    factory called with no arguments). `resource`: the identifier of the API these views are
    (an absolute URI, or a path on the authorization server's origin such as "/api"); with it,
    a token restricted to other resources (RFC 8707) is `invalid_token`, every challenge names
    the RFC 9728 metadata (`resource_metadata`), and `metadata_view` serves that document at
    `metadata_path` (route it: `path(protector.metadata_path.lstrip("/"), protector.metadata_view)`).
    The other keywords are the document's (`resource_metadata.ProtectedResource`).
    """

    def __init__(
        self,
        require_oauth: Any = None,
        *,
        resource: str | None = None,
        authorization_servers: Any = None,
        scopes_supported: Any = None,
        resource_name: str | None = None,
        bearer_methods_supported: Any = ("header",),
    ) -> None:
        super().__init__()
        self.protected_resource = (
            ProtectedResource(
                resource,
                authorization_servers=authorization_servers,
                scopes_supported=scopes_supported,
                resource_name=resource_name,
                bearer_methods_supported=bearer_methods_supported,
            )
            if resource
            else None
        )
        if require_oauth is not None:
            validator = require_oauth
            if not isinstance(validator, TokenValidator) and callable(validator):
                validator = validator()
            self.register_token_validator(validator)

    def register_token_validator(self, validator: TokenValidator) -> None:
        """Register the validator for its token type (bearer)."""
        super().register_token_validator(validator)

    # --- RFC 9728 --------------------------------------------------------------------------------

    def resource_identifier(self, request: HttpRequest | None) -> str | None:
        """The identifier of the resource this protector guards (None: not configured)."""
        if self.protected_resource is None:
            return None
        return self.protected_resource.identifier(request)

    @property
    def metadata_path(self) -> str:
        """Where to route `metadata_view` (RFC 9728 §3.1)."""
        if self.protected_resource is None:
            raise ImproperlyConfigured("This ResourceProtector names no resource (resource=...).")
        return self.protected_resource.metadata_path

    def metadata_view(self, request: HttpRequest) -> HttpResponse:
        """The RFC 9728 document of this protector's resource."""
        if self.protected_resource is None:
            raise ImproperlyConfigured("This ResourceProtector names no resource (resource=...).")
        return self.protected_resource.metadata_view(request)

    def resource_metadata_url(self, request: HttpRequest | None) -> str | None:
        """The URL of the RFC 9728 document, named in every challenge (§5.1)."""
        if self.protected_resource is None:
            return None
        return self.protected_resource.metadata_url(request)

    def check_audience(self, validator: Any, token: Any, request: HttpRequest) -> None:
        """Raise InvalidTokenError when the token is restricted to resources other than this
        protector's (RFC 8707 §2; RFC 9068 §4 for JWTs). A protector naming no resource, or a
        token not audience-restricted, passes."""
        expected = self.resource_identifier(request)
        getter = getattr(validator, "get_token_audience", None)
        if expected is None or getter is None:
            return
        audience = getter(token, request)
        if audience is not None and expected not in audience:
            raise InvalidTokenError("The access token is not meant for this resource.", realm=validator.realm)

    def challenge(self, request: HttpRequest | None, realm: str | None = None, **params: str | None) -> str:
        """A `WWW-Authenticate: Bearer` value with `realm`, `params` and, when this protector
        names its resource, RFC 9728's `resource_metadata`."""
        header = challenge_header("Bearer", realm if realm is not None else self.get_realm(request), **params)
        url = self.resource_metadata_url(request)
        if url:
            separator = ", " if header != "Bearer" else " "
            header += f'{separator}resource_metadata="{url}"'
        return header

    # --- decorator -----------------------------------------------------------------------------

    def __call__(self, scopes: Any = None, optional: bool = False) -> Callable:
        """Decorate a view; the accepted token is `request.oauth_token` (None when optional and absent).

        The decorated view is CSRF-exempt; an optional view reached without a token is CSRF-checked
        here (when CsrfViewMiddleware is installed and the view is not itself exempt).
        """
        if callable(scopes):
            return self._decorate(scopes, None, optional)
        required = as_scope_list(scopes)

        def decorator(view: Callable) -> Callable:
            return self._decorate(view, required, optional)

        return decorator

    def _decorate(self, view: Callable, scopes: list[str] | None, optional: bool) -> Callable:
        @functools.wraps(view)
        def protected(*args: Any, **kwargs: Any) -> Any:
            request = _find_request(args)
            try:
                token = self.acquire_token(request, scopes)
            except MissingAuthorizationError as error:
                if not optional:
                    return self.error_response(request, error, scopes)
                token = None
            except OAuth2Error as error:
                return self.error_response(request, error, scopes)
            if token is None:
                # An optional view reached without a token may act on the browser's session
                # cookie, so the CSRF check this decorator lifted applies after all.
                refused = csrf_refusal(request, view)
                if refused is not None:
                    return refused
            request.oauth_token = token
            return view(*args, **kwargs)

        # A browser never attaches a bearer token on its own, so a request carrying a valid one
        # cannot be forged cross-site: CSRF protection is for cookie-authenticated requests, and
        # an API client has no CSRF cookie to send. Requests without a token are checked above.
        protected.csrf_exempt = True
        return protected

    # --- token acquisition ---------------------------------------------------------------------

    def acquire_token(self, request: HttpRequest, scopes: Any = None, raise_error: bool = True) -> Any:
        """The request's valid token having `scopes`; raises OAuth2Error, or returns None when
        `raise_error` is False. Cached on the request: a second call does not query again."""
        try:
            return self.validate_request(request, scopes)
        except OAuth2Error:
            if raise_error:
                raise
            return None

    def validate_request(
        self, request: HttpRequest, scopes: Any = None, *, form_body: bool = False, **_kwargs: Any
    ) -> Any:
        """Validate the request's bearer token against `scopes`; return the token or raise OAuth2Error.

        `form_body`: also accept the token as the `access_token` field of a POSTed form (RFC 6750
        §2.2; OpenID Connect's UserInfo allows it). Never in the URL, never two at once.
        """
        required = as_scope_list(scopes)
        cache: dict[int, _Accepted] = request.__dict__.setdefault(_CACHE_ATTR, {})
        accepted = cache.get(id(self))
        if accepted is None:
            query = read_query(request)
            if "access_token" in query:
                # RFC 6750 §2.3 / RFC 9700 §4.3.2: tokens in URLs leak through logs and referrers.
                raise InvalidRequestError("Send the access token in the Authorization header, not the URL.")
            validator, token_string = self._bearer_credentials(request, form_body)
            token_string = token_string.strip()
            if len(token_string) > MAX_TOKEN_LENGTH or not _B64TOKEN.fullmatch(token_string):
                raise InvalidTokenError("The access token is malformed.", realm=validator.realm)
            token = validator.authenticate_token(token_string)
            if hasattr(validator, "validate_token_state"):
                validator.validate_token_state(token, request)
            else:
                validator.validate_token(token, None, request)
            self.check_audience(validator, token, request)
            accepted = cache[id(self)] = _Accepted(validator, token)
        validator = accepted.validator
        if hasattr(validator, "validate_token_scopes"):
            validator.validate_token_scopes(accepted.token, required)
        elif validator.scope_insufficient(accepted.token.get_scope(), required):
            raise InsufficientScopeError()
        if not accepted.announced:
            accepted.announced = True
            # send_robust: see signals.py (a failing receiver is logged; the request goes on).
            signals.token_authenticated.send_robust(sender=type(self), token=accepted.token, request=request)
        return accepted.token

    def _bearer_credentials(self, request: HttpRequest, form_body: bool) -> tuple[Any, str]:
        in_body = None
        if form_body and request.method == "POST":
            values = read_form(request, required=False).get("access_token")
            if values is not None:
                if len(values) != 1 or "HTTP_AUTHORIZATION" in request.META:
                    # RFC 6750 §2: one method, one token per request.
                    raise InvalidRequestError("Send exactly one access token, in one place.")
                in_body = values[0]
        if in_body is None:
            return self.parse_request_authorization(request)
        return self.get_token_validator("bearer"), in_body

    def parse_request_authorization(self, request: Any) -> tuple[Any, str]:
        """authlib's, reading a Django request's header from META: `request.headers` is built
        from the whole of META on first read, which a check of one header need not pay for."""
        meta = getattr(request, "META", None)
        if meta is None:
            return super().parse_request_authorization(request)
        if not (auth := meta.get("HTTP_AUTHORIZATION")):
            raise MissingAuthorizationError(self._default_auth_type, self._default_realm)
        if len(parts := auth.split(None, 1)) != 2:
            raise UnsupportedTokenTypeError(self._default_auth_type, self._default_realm)
        return self.get_token_validator(parts[0]), parts[1]

    # --- errors --------------------------------------------------------------------------------

    def get_realm(self, request: HttpRequest | None) -> str:
        """The realm of `WWW-Authenticate`: the validator's, the OAUTH2_ISSUER setting, or the host."""
        if self._default_realm:
            return self._default_realm
        issuer = (getattr(settings, "OAUTH2_ISSUER", "") or "").rstrip("/")
        if issuer:
            return issuer
        if request is not None:
            try:
                return request.get_host()
            except DisallowedHost:
                pass
        return "api"

    def error_response(
        self, request: HttpRequest | None, error: OAuth2Error, scopes: Any = None
    ) -> HttpResponse:
        """The RFC 6750 §3 answer: JSON error and a `WWW-Authenticate: Bearer` challenge. Sends
        `bearer_token_refused`."""
        prepare_error(error)
        realm = self.get_realm(request)
        body = {"error": error.error}
        if error.description:
            body["error_description"] = error.description
        if isinstance(error, MissingAuthorizationError | UnsupportedTokenTypeError):
            # §3.1: a request without (bearer) credentials gets the bare challenge, no error code.
            if isinstance(error, UnsupportedTokenTypeError) and not error.description:
                # Another scheme (Basic, "Token ..."), or "Bearer" with nothing after it.
                body["error_description"] = "Send the access token as 'Authorization: Bearer <token>'."
            challenge = self.challenge(request, realm)
            status = 401
        elif isinstance(error, InsufficientScopeError):
            required = " ".join(as_scope_list(scopes) or [])
            challenge = self.challenge(
                request, realm, error=error.error, error_description=error.description, scope=required
            )
            status = 403
        else:
            challenge = self.challenge(request, realm, error=error.error, error_description=error.description)
            status = error.status_code
        # send_robust: a receiver's failure must not turn the refusal into a 500.
        signals.bearer_token_refused.send_robust(
            sender=type(self), request=request, error=error.error, status=status
        )
        return json_response(status, body, [("WWW-Authenticate", challenge), *NO_STORE_HEADERS])


def _find_request(args: tuple) -> HttpRequest:
    # Function views get the request first; methods of class-based views get it second.
    for arg in args[:2]:
        if isinstance(arg, HttpRequest):
            return arg
    raise TypeError("A view protected by ResourceProtector must receive the HttpRequest.")
