"""Reading client credentials off a request before authlib does (RFC 6749 §2.3).

authlib skips a Basic header it cannot decode and crashes on one that is not UTF-8; these
helpers let the server refuse such headers as 401 invalid_client, and name the method and
client a failed attempt claimed (for `client_authentication_failed`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from django.http import HttpRequest

from .bodies import has_control_characters
from .client_assertion import unverified_subject

__all__ = [
    "CONFIDENTIAL_CLIENT_METHODS",
    "MalformedCredentialsError",
    "attempted_auth_method",
    "authenticate_client_secret_basic",
    "basic_credentials_error",
    "body_client_id",
    "claimed_client_id",
    "failed_authentication_text",
    "is_authlib_methods_error",
    "read_basic_credentials",
    "refuse_a_second_client",
    "request_basic_credentials",
]

# How a client holding a credential may authenticate (RFC 6749 §2.3, RFC 7523 §2.2); a server
# offers those registered on it (`ProtocolServer.supported_auth_methods`).
CONFIDENTIAL_CLIENT_METHODS = ("private_key_jwt", "client_secret_basic", "client_secret_post")

# The start of authlib's description when no client authentication method succeeded.
_AUTHLIB_METHODS_DESCRIPTION = "The client cannot authenticate with methods"


class MalformedCredentialsError(ValueError):
    """An `Authorization: Basic` header that cannot be read as a client_id and a secret."""


def read_basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(client_id, secret) of an `Authorization` header value with the Basic scheme; None when
    the header uses another scheme (or none).

    The one Basic decoder of the server (RFC 6749 §2.3.1): strict base64, UTF-8, a colon, both
    parts form-urlencoded before encoding. Raises MalformedCredentialsError when the value is not
    that, or names an empty client_id, or holds control characters.
    """
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    value = value.strip()
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
        client_id, sep, secret = decoded.partition(":")
        client_id = unquote_to_bytes(client_id).decode("utf-8")
        secret = unquote_to_bytes(secret).decode("utf-8")
    except (binascii.Error, ValueError):
        raise MalformedCredentialsError("The Basic credentials are malformed.") from None
    if not value or not sep or not client_id or has_control_characters(client_id, secret):
        raise MalformedCredentialsError("The Basic credentials are malformed.")
    return client_id, secret


# Where `request_basic_credentials` keeps its reading on the request: (header, result or error).
_BASIC_ATTR = "_oauth2_basic_credentials"


def request_basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """`read_basic_credentials` of the request's Authorization header, decoded once per request.

    The rate limiter, the endpoint's checks and the claimed client_id all read the same header;
    the reading is kept on the request (whose META holds the header anyway) and given again
    while the header is the same. Raises MalformedCredentialsError as the reader does.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    kept = request.__dict__.get(_BASIC_ATTR)
    if kept is not None and kept[0] == header:
        result = kept[1]
    else:
        try:
            result = read_basic_credentials(header)
        except MalformedCredentialsError as error:
            result = error
        request.__dict__[_BASIC_ATTR] = (header, result)
    if isinstance(result, MalformedCredentialsError):
        raise MalformedCredentialsError(*result.args)
    return result


def basic_credentials_error(request: HttpRequest) -> InvalidClientError | None:
    """A 401 invalid_client for an unreadable `Authorization: Basic` header (or a bare scheme
    such as "Bearer "), else None (see `read_basic_credentials` for what is unreadable)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        if " " in header and not value.strip():
            # A scheme and a space but no credentials ("Bearer "): authlib's Basic parser splits
            # it into one part and raises ValueError (a 500). It authenticates nobody; refuse it.
            return InvalidClientError(status_code=401, description="The Authorization header is malformed.")
        return None
    try:
        request_basic_credentials(request)
    except MalformedCredentialsError as error:
        return InvalidClientError(status_code=401, description=str(error))
    return None


def claimed_client_id(
    headers: Mapping[str, str] | HttpRequest, body_client_id: str | Callable[[], str | None] | None
) -> str | None:
    """The client_id a request claims, unverified: its Basic header's, else the body's.

    None when the Basic header is unreadable (the endpoint refuses it before comparing any
    secret) or nothing is claimed. `body_client_id` may be a callable, so that a caller that has
    not parsed the body yet (the rate limiter) parses it only when there is no Basic header.
    `headers`: the request's headers, or the Django request itself (its header is then decoded
    once per request: `request_basic_credentials`).
    """
    try:
        if isinstance(headers, HttpRequest):
            basic = request_basic_credentials(headers)
        else:
            basic = read_basic_credentials(headers.get("Authorization", ""))
    except MalformedCredentialsError:
        return None
    if basic is not None:
        return basic[0]
    client_id = body_client_id() if callable(body_client_id) else body_client_id
    return client_id or None


def body_client_id(form: Mapping[str, str]) -> str | None:
    """The client a form body claims, unverified: its client_id, else the `sub` of its
    client_assertion (private_key_jwt, which may leave client_id out)."""
    return form.get("client_id") or unverified_subject(form.get("client_assertion"))


def attempted_auth_method(request: OAuth2Request) -> str:
    """The authentication method the request attempts: client_secret_basic, _post,
    private_key_jwt (a client assertion), or none."""
    django_request = getattr(request, "django_request", None)
    if isinstance(django_request, HttpRequest):
        header = django_request.META.get("HTTP_AUTHORIZATION", "")
    else:
        header = request.headers.get("Authorization", "")
    if header.strip().lower().startswith("basic"):
        return "client_secret_basic"
    if "client_assertion" in request.form or "client_assertion_type" in request.form:
        return "private_key_jwt"
    if "client_secret" in request.form:
        return "client_secret_post"
    return "none"


def authenticate_client_secret_basic(query_client: Callable[[str], Any], request: OAuth2Request) -> Any:
    """The `client_secret_basic` method (RFC 6749 §2.3.1) on the one Basic reader, in place of
    authlib's: authlib splits the scheme off at any whitespace ("Basic<TAB> ..."), this server's
    rate limiter, audit and one-client rule at a space, so a header read by one and not the other
    authenticated a client that the secret-guessing lockout never counted. A header the reader
    does not read as a pair authenticates no one. The client, or None (the next method is
    tried); an unknown client_id is a 401 invalid_client, as in authlib.

    With a Django request behind it, the request's one decoding of the header
    (`request_basic_credentials`, shared with the limiter and the endpoint's checks) is used:
    decoding it again, and building `request.headers` from the whole of META, was work for
    nothing on every token, introspection and revocation request.
    """
    django_request = getattr(request, "django_request", None)
    try:
        if isinstance(django_request, HttpRequest):
            credentials = request_basic_credentials(django_request)
        else:
            credentials = read_basic_credentials(request.headers.get("Authorization", ""))
    except MalformedCredentialsError:
        return None  # refused before authentication (`basic_credentials_error`)
    if credentials is None or not credentials[1]:
        return None
    client_id, secret = credentials
    client = query_client(client_id)
    if not client:
        raise InvalidClientError(status_code=401, description="The client does not exist on this server.")
    return client if client.check_client_secret(secret) else None


def is_authlib_methods_error(error: InvalidClientError) -> bool:
    """True for authlib's "cannot authenticate with methods: [...]" error (a Python list)."""
    return (error.description or "").startswith(_AUTHLIB_METHODS_DESCRIPTION)


def failed_authentication_text(methods: list[str]) -> str:
    """Why no client authenticated, in words, naming the methods the endpoint accepts."""
    accepted = ", ".join(m for m in methods if m != "none") or "none"
    return (
        "The client could not be authenticated: the client_id is unknown, the secret is wrong or "
        f"expired, or the client may not use this method here (accepted: {accepted})."
    )


def refuse_a_second_client(request: OAuth2Request, basic_client_id: str | None) -> None:
    """With Basic credentials, the body may repeat the same client_id but name no other client
    and carry no secret (RFC 6749 §2.3: one authentication method, so one client, per request)."""
    if "client_secret" in request.form:
        raise InvalidRequestError("Use one client authentication method, not Basic and a form secret.")
    if "client_assertion" in request.form or "client_assertion_type" in request.form:
        raise InvalidRequestError("Use one client authentication method, not Basic and a client_assertion.")
    body_client_id = request.payload.client_id
    if body_client_id is not None and body_client_id != basic_client_id:
        raise InvalidRequestError(
            "The client_id in the request body is not the client of the Authorization header."
        )
