"""Error answers shared by every endpoint of the package: RFC 6749 §5.2 JSON bodies and headers.

authlib builds the error objects; this module turns them into Django responses that are safe
whatever the request contained: descriptions keep only the characters §5.2 allows, every JSON
answer says so in its content type, and credential-bearing endpoints are never cached.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable

from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InsecureTransportError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from authlib.oauth2.rfc6749.errors import UnsupportedResponseTypeError as _AuthlibUnsupportedResponseType
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError
from authlib.oidc.core.errors import LoginRequiredError
from django.http import HttpRequest, HttpResponse

__all__ = [
    "NO_STORE_HEADERS",
    "AccessDeniedError",
    "InsecureTransportError",
    "InsufficientScopeError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "InvalidTokenError",
    "LoginRequiredError",
    "MethodNotAllowedError",
    "OAuth2Error",
    "UnauthorizedClientError",
    "UnmetAuthenticationRequirementsError",
    "UnsupportedGrantTypeError",
    "UnsupportedResponseTypeError",
    "UnsupportedTokenTypeError",
    "clean_error_text",
    "error_response",
    "json_error_response",
    "json_response",
    "method_not_allowed",
    "no_store",
    "require_methods",
]

# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_ALLOWED = frozenset(chr(c) for c in (*range(0x20, 0x22), *range(0x23, 0x5C), *range(0x5D, 0x7F)))
# Long enough for any message of ours; short enough that an echoed 1 MB parameter stays small.
MAX_DESCRIPTION_LENGTH = 300

NO_STORE_HEADERS = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


class MethodNotAllowedError(InvalidRequestError):
    """An endpoint was called with an HTTP method it does not accept (answered 405)."""

    status_code = 405

    def __init__(self, allowed: Iterable[str], description: str | None = None) -> None:
        self.allowed = tuple(allowed)
        super().__init__(description or f"This endpoint accepts only {', '.join(self.allowed)}.")

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("Allow", ", ".join(self.allowed))]


class UnsupportedResponseTypeError(_AuthlibUnsupportedResponseType):
    """RFC 6749 §4.1.2.1 unsupported_response_type, with our description.

    authlib's class always answers "response_type=<the raw value> is not supported": the raw
    value would then travel in the redirect to the client (and refuse to, with a ValueError,
    when it holds a character RFC 6749 §5.2 forbids). This one never echoes it.
    """

    description = "The response_type is not supported by this server."

    def get_error_description(self) -> str:
        return self.description


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """OpenID Connect Core Unmet Authentication Requirements 1.0: the provider could not
    authenticate the person as the request required (an essential `acr` it cannot give, OIDC
    Core §5.5.1.1). An authorization error: redirected to the client with `state`."""

    error = "unmet_authentication_requirements"


class UnsupportedTokenTypeError(OAuth2Error):
    """RFC 7009 §2.2.1 / RFC 7662: the token_type_hint names a type this server does not know.

    authlib's class of the same name is a 401 "forbidden" error meant for resource servers;
    the revocation and introspection endpoints answer it as a plain 400.
    """

    error = "unsupported_token_type"
    description = "The token_type_hint is not one of access_token, refresh_token."


def clean_error_text(text: object, limit: int = MAX_DESCRIPTION_LENGTH) -> str:
    """Return `text` reduced to the characters RFC 6749 §5.2 allows in error_description.

    Quotes become apostrophes and backslashes slashes (so the text can sit in a quoted
    WWW-Authenticate parameter); line breaks and tabs become spaces; anything else outside the
    allowed set becomes '?'. Long text is cut to `limit` characters.
    """
    if text is None:
        return ""
    out = []
    for ch in str(text)[: limit + 1]:
        if ch in _ALLOWED:
            out.append(ch)
        elif ch == '"':
            out.append("'")
        elif ch == "\\":
            out.append("/")
        elif ch in "\r\n\t":
            out.append(" ")
        else:
            out.append("?")
    cleaned = "".join(out)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 3] + "..."
    return cleaned


def _quote(value: str) -> str:
    return clean_error_text(value, limit=200)


def challenge_header(scheme: str, realm: str | None, **params: str | None) -> str:
    """Build a WWW-Authenticate value such as `Bearer realm="api", error="invalid_token"`."""
    parts = []
    if realm:
        parts.append(f'realm="{_quote(realm)}"')
    parts.extend(f'{name}="{_quote(value)}"' for name, value in params.items() if value)
    return f"{scheme} {', '.join(parts)}" if parts else scheme


def json_response(status: int, body: object, headers: Iterable[tuple[str, str]] = ()) -> HttpResponse:
    """A JSON answer with `application/json`; `headers` are added (and override defaults)."""
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    for name, value in headers:
        response[name] = value
    return response


def json_error_response(
    error: str, description: str, status: int = 400, headers: Iterable[tuple[str, str]] = ()
) -> HttpResponse:
    """An RFC 6749 §5.2 JSON error that is never cached, for answers given without an authlib
    error object (plain HTTP where HTTPS is required, a database outage, a throttled client).

    `description` is cleaned like every other error_description; `headers` are added.
    """
    body = {"error": error, "error_description": clean_error_text(description)}
    return json_response(status, body, [*NO_STORE_HEADERS, *headers])


def no_store(response: HttpResponse) -> HttpResponse:
    """Mark `response` as never to be cached (RFC 6749 §5.1), and return it."""
    for name, value in NO_STORE_HEADERS:
        response[name] = value
    return response


def prepare_error(error: OAuth2Error) -> OAuth2Error:
    """Make `error` safe to render: its description keeps only RFC 6749 §5.2 characters.

    Some authlib errors compute their description (echoing request input) in a method that
    the body ignores; storing the cleaned text on `description` puts it in the body, too.
    """
    error.description = clean_error_text(error.get_error_description())
    return error


def error_response(
    error: OAuth2Error,
    *,
    realm: str | None = None,
    no_store: bool = False,
    error_uri: str | None = None,
) -> HttpResponse:
    """Render an authlib error as JSON (or as the redirect authlib built for it).

    A 401 invalid_client carries `WWW-Authenticate: Basic realm=...` (RFC 6749 §5.2);
    `no_store` adds the cache headers RFC 6749 §5.1 asks of the token endpoint.
    """
    prepare_error(error)
    status, body, headers = error(uri=error_uri)
    if isinstance(error, InvalidClientError) and status == 401:
        headers = [(k, v) for k, v in headers if k.lower() != "www-authenticate"]
        headers.append(
            (
                "WWW-Authenticate",
                challenge_header(
                    "Basic", realm or "oauth2", error=error.error, error_description=error.description
                ),
            )
        )
    if no_store:
        headers = [*headers, *NO_STORE_HEADERS]
    if status in (301, 302, 303, 307):
        response = HttpResponse(status=status)
        for name, value in headers:
            response[name] = value
        return response
    return json_response(status, body, headers)


def method_not_allowed(allowed: Iterable[str]) -> HttpResponse:
    """The answer of every machine endpoint to a method it does not take: 405 with `Allow` (RFC
    9110 §15.5.6) and RFC 6749 §5.2's JSON `invalid_request`, never cached. The token endpoints
    raise MethodNotAllowedError while parsing, and answer it through `error_response` as here."""
    return error_response(MethodNotAllowedError(allowed), no_store=True)


def require_methods(*methods: str) -> Callable:
    """View decorator for a machine endpoint: Django's require_http_methods, but refusing with
    `method_not_allowed` (JSON, `Allow`, no-store) instead of an empty HTML 405."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                return method_not_allowed(methods)
            return view(request, *args, **kwargs)

        return checked

    return decorator
