"""The OAuth 2.0 view of a Django request, parsed strictly.

Django's own parsing is forgiving in ways an authorization server must not be: a repeated
parameter wins last, undecodable bytes turn into replacement characters, and size or field-count
limits raise exceptions that become HTML error pages. Here every parse failure is an
`invalid_request` (RFC 6749 §5.2), and the request object exposes `grant_type`, `client_id`,
`data`, ... as plain attributes, without authlib's deprecated proxies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError, InvalidRequestError
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.utils.http import parse_header_parameters

from .errors import MethodNotAllowedError, clean_error_text

__all__ = [
    "DEFAULT_PARAMETER_LIMITS",
    "MAX_JSON_DEPTH",
    "DjangoOAuth2Payload",
    "DjangoOAuth2Request",
    "MediaType",
    "build_oauth2_request",
    "check_parameter_lengths",
    "parse_media_type",
    "read_json_body",
    "read_query",
    "request_media_type",
    "within_limit",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MULTIPART_CONTENT_TYPE = "multipart/form-data"
# Token, revocation and introspection: POST, form body only (RFC 6749 §3.2, RFC 7009, RFC 7662).
TOKEN_STYLE = "token"
# Authorization endpoint: GET query, or POST form (RFC 6749 §3.1).
AUTHORIZATION_STYLE = "authorization"

Params = dict[str, list[str]]

# The longest value accepted for each parameter the server stores or sends back. RFC 6749 sets
# no limits; a database column does (PostgreSQL refuses a longer value with an exception in the
# middle of the request), and an echoed value should not grow a redirect without bound.
# AuthorizationServer(parameter_limits=...) narrows them to the columns of its models.
DEFAULT_PARAMETER_LIMITS: Mapping[str, int] = {
    "client_id": 255,
    "redirect_uri": 2048,
    "scope": 1024,
    "state": 2048,
    "nonce": 255,
    "code_challenge": 128,  # RFC 7636 §4.2
    "code_challenge_method": 16,
}
# Checked while parsing the authorization request: they say which client asks and where its
# errors go, so an error about them is shown, never redirected (RFC 6749 §4.1.2.1).
IDENTITY_PARAMETERS = ("client_id", "redirect_uri")
# Checked while parsing a token-style request: the parameters those endpoints use. Others (a
# stray `state`) are ignored, as RFC 6749 §3.2 requires of unrecognized parameters.
TOKEN_PARAMETERS = ("client_id", "redirect_uri", "scope")
# Client metadata is a few levels deep (a JWK set is four); Python's JSON parser recurses, and
# a few thousand nested brackets would exhaust the stack (RecursionError, a 500).
MAX_JSON_DEPTH = 16


@dataclass(frozen=True)
class MediaType:
    """A parsed Content-Type: `essence` is "type/subtype" in lower case (media types are
    case-insensitive, RFC 9110 §8.3.1), `params` its parameters with lower-case names."""

    essence: str
    params: dict[str, str] = field(default_factory=dict)


def parse_media_type(header: str | None) -> MediaType:
    """Parse a Content-Type header value; an unparsable one names no media type ("").

    The one media-type parser of the server: every comparison of a request's content type goes
    through it, so none of them can disagree with another (or with Django's body parsing) about
    spelling, surrounding spaces or parameters such as `; charset=utf-8`.
    """
    try:
        essence, params = parse_header_parameters(header or "")
    except ValueError:  # e.g. an RFC 2231 parameter in an unknown charset
        return MediaType("")
    return MediaType(essence.strip().lower(), {name.lower(): value for name, value in params.items()})


def request_media_type(request: HttpRequest) -> MediaType:
    """The media type of `request`'s body (its Content-Type header, parsed)."""
    return parse_media_type(request.META.get("CONTENT_TYPE"))


def _decode_pairs(raw: bytes, where: str) -> Params:
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except UnicodeDecodeError:
        raise InvalidRequestError(f"The {where} is not valid UTF-8.") from None
    except ValueError:
        # parse_qsl raises a bare ValueError only for max_num_fields.
        raise InvalidRequestError(f"The {where} has too many fields.") from None
    params: Params = {}
    for name, value in pairs:
        _add(params, name, value, where)
    return params


_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def has_control_characters(*texts: str) -> bool:
    """True when any of `texts` holds an ASCII control character (NUL, CR, LF, DEL ...)."""
    return any(_CONTROL_CHARACTER.search(text) for text in texts)


def _add(params: Params, name: str, value: str, where: str) -> None:
    # RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted
    # from the request."
    if value == "":
        return
    if has_control_characters(name, value):
        # No OAuth parameter may hold control characters (RFC 6749 Appendix A), and a NUL would
        # reach the database (PostgreSQL refuses it with an exception).
        raise InvalidRequestError(f"The {where} contains control characters.")
    params.setdefault(name, []).append(value)


def read_query(request: HttpRequest) -> Params:
    """Parse the URL query strictly; raise InvalidRequestError on bad encoding or too many fields."""
    query = request.META.get("QUERY_STRING", "") or ""
    if isinstance(query, str):
        # WSGI hands the raw bytes over as latin-1 text (PEP 3333); ASGI servers may not.
        try:
            raw = query.encode("iso-8859-1")
        except UnicodeEncodeError:
            raw = query.encode("utf-8")
    else:
        raw = query
    return _decode_pairs(raw, "URL query")


def read_form(request: HttpRequest, *, required: bool) -> Params:
    """Parse an `application/x-www-form-urlencoded` body strictly.

    `required`: the endpoint only accepts form bodies, so any other content type is refused even
    when the body is empty. A charset other than UTF-8 is refused (RFC 6749 Appendix B).
    """
    media_type = request_media_type(request)
    if media_type.essence == MULTIPART_CONTENT_TYPE and not required:
        return _read_multipart(request)
    if media_type.essence != FORM_CONTENT_TYPE:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if required or length not in ("0", ""):
            raise InvalidRequestError(f"The request body must be {FORM_CONTENT_TYPE}.")
        return {}
    charset = media_type.params.get("charset")
    if charset and charset.strip().lower() not in ("utf-8", "utf8"):
        raise InvalidRequestError("The request body must be encoded in UTF-8.")
    return _decode_pairs(read_body(request), "request body")


def read_body(request: HttpRequest) -> bytes:
    """The raw body; InvalidRequestError when it is over DATA_UPLOAD_MAX_MEMORY_SIZE or unreadable."""
    try:
        return request.body
    except RequestDataTooBig:
        raise InvalidRequestError(
            f"The request body is too large (at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes)."
        ) from None
    except (RawPostDataException, SuspiciousOperation, OSError):
        raise InvalidRequestError("The request body could not be read.") from None


def read_json_body(request: HttpRequest, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse an `application/json` body (RFC 7591 §3.1); raise InvalidRequestError for another
    content type, a body over the size limit, text that is not UTF-8 JSON, or nesting deeper
    than `max_depth`."""
    if request_media_type(request).essence != "application/json":
        raise InvalidRequestError("Send the request body as application/json.")
    body = read_body(request)
    too_deep = f"The JSON body is nested too deeply (at most {max_depth} levels)."
    try:
        data = json.loads(body.decode("utf-8"))
    except RecursionError:
        raise InvalidRequestError(too_deep) from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestError("The request body is not valid JSON.") from None
    if _nesting_exceeds(data, max_depth):
        raise InvalidRequestError(too_deep)
    return data


def _nesting_exceeds(value: Any, limit: int) -> bool:
    # Iterative: the point is not to recurse on input the client controls.
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def check_parameter_lengths(
    params: Mapping[str, Any], limits: Mapping[str, int], names: Iterable[str] | None = None
) -> None:
    """Raise InvalidRequestError naming the first parameter (of `names`, default every limited
    one) whose value in `params` (a string, or a list of strings) is longer than its limit."""
    for name in limits if names is None else names:
        limit = limits.get(name)
        value = params.get(name)
        values = value if isinstance(value, list) else [value]
        if limit is not None and any(isinstance(v, str) and len(v) > limit for v in values):
            raise InvalidRequestError(f"The '{name}' parameter is too long (at most {limit} characters).")


def within_limit(params: Mapping[str, Any], name: str, limits: Mapping[str, int]) -> Any:
    """`params[name]` when it is within its limit, else None (for values echoed in an error)."""
    value = params.get(name)
    limit = limits.get(name)
    if isinstance(value, str) and limit is not None and len(value) > limit:
        return None
    return value


def _read_multipart(request: HttpRequest) -> Params:
    # Browsers may post a consent form as multipart; Django's parser is the only one at hand,
    # so its failures (broken body, limits) are translated here.
    try:
        fields = list(request.POST.lists())
    except (MultiPartParserError, SuspiciousOperation, RawPostDataException, UnicodeDecodeError, ValueError):
        raise InvalidRequestError("The multipart request body could not be parsed.") from None
    params: Params = {}
    for name, values in fields:
        for value in values:
            _add(params, name, value, "request body")
    return params


def _first_values(params: Params) -> dict[str, str]:
    return {name: values[0] for name, values in params.items()}


def _merge(*sources: Params) -> Params:
    merged: Params = {}
    for source in sources:
        for name, values in source.items():
            merged.setdefault(name, []).extend(values)
    return merged


class DjangoOAuth2Payload(OAuth2Payload):
    """The request parameters authlib reads: `data` (one value each) and `datalist`."""

    def __init__(self, params: Params) -> None:
        self._datalist = params
        self._data = _first_values(params)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> Params:
        return self._datalist


class DjangoOAuth2Request(OAuth2Request):
    """An authlib OAuth2Request built from a Django HttpRequest whose parameters were parsed strictly.

    `grant_type`, `client_id`, `response_type`, `redirect_uri`, `state`, `data` and `datalist`
    are plain reads of the parameters (authlib 1.9's versions warn); `client`, `user`,
    `credential` (the authorization code or refresh token being exchanged) are set by the
    grants; `django_request` is the original request.
    """

    def __init__(self, request: HttpRequest, *, query: Params, form: Params, params: Params) -> None:
        uri = request.build_absolute_uri()
        _check_transport(request, uri)
        # authlib's __init__ would repeat its own transport check, which knows no test client;
        # these are the attributes it sets (authlib 1.9).
        self.method = request.method
        self.uri = uri
        self.headers = request.headers
        self._body = None
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        self.django_request = request
        # The name authlib's own Django integration uses, for code written against it.
        self._request = request
        self.payload = DjangoOAuth2Payload(params)
        self._args = _first_values(query)
        self._form = _first_values(form)

    # Plain reads where authlib 1.9 keeps deprecated proxies.
    @property
    def data(self) -> dict[str, str]:
        return self.payload.data

    @property
    def datalist(self) -> Params:
        return self.payload.datalist

    @property
    def client_id(self) -> str | None:
        return self.payload.client_id

    @property
    def grant_type(self) -> str | None:
        return self.payload.grant_type

    @property
    def response_type(self) -> str | None:
        return self.payload.response_type

    @property
    def redirect_uri(self) -> str | None:
        return self.payload.redirect_uri

    @property
    def state(self) -> str | None:
        return self.payload.state

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


# Django's test client speaks plain HTTP to this host name; Django itself admits it only while
# tests run (setup_test_environment adds it to ALLOWED_HOSTS).
TEST_CLIENT_HOST = "testserver"


def _check_transport(request: HttpRequest, uri: str) -> None:
    """Refuse plain HTTP (RFC 6749 §1.6) except where authlib allows it (loopback, or the
    AUTHLIB_INSECURE_TRANSPORT variable) and for Django's test client."""
    if is_secure_transport(uri):
        return
    if request.get_host().split(":")[0] == TEST_CLIENT_HOST:
        return
    raise InsecureTransportError()


def _refuse_in_query(query: Params, names: Iterable[str], message: str) -> None:
    if any(name in query for name in names):
        raise InvalidRequestError(message)


def build_oauth2_request(
    request: HttpRequest, *, style: str, limits: Mapping[str, int] = DEFAULT_PARAMETER_LIMITS
) -> DjangoOAuth2Request:
    """Parse `request` for an endpoint of the given style; raise an OAuth2Error if it is malformed.

    `style` is "token" (token, revocation, introspection: POST with a form body, parameters from
    the body only) or "authorization" (GET query or POST form). Repeated parameters, client
    secrets in the URL and bodies that are not UTF-8 forms are refused (RFC 6749 §3.1, §2.3.1),
    and so are values over their `limits`: of the TOKEN_PARAMETERS for the token style, of the
    IDENTITY_PARAMETERS for the authorization style (the grant checks the others once the
    client and redirect URI are known, so that the error can be redirected).
    """
    if style == TOKEN_STYLE:
        if request.method != "POST":
            raise MethodNotAllowedError(["POST"])
        query = read_query(request)
        _refuse_in_query(
            query,
            ("client_id", "client_secret"),
            "Client credentials must not be sent in the URL query (RFC 6749 section 2.3.1).",
        )
        form = read_form(request, required=True)
        params = form
    else:
        if request.method not in ("GET", "POST"):
            raise MethodNotAllowedError(["GET", "POST"])
        query = read_query(request)
        _refuse_in_query(query, ("client_secret",), "A client secret must never be sent in the URL.")
        form = read_form(request, required=False) if request.method == "POST" else {}
        params = _merge(query, form)
    repeated = sorted(name for name, values in params.items() if len(values) > 1)
    if repeated:
        name = clean_error_text(repeated[0], limit=60)
        raise InvalidRequestError(f"The parameter '{name}' is repeated (RFC 6749 section 3.1).")
    check_parameter_lengths(params, limits, TOKEN_PARAMETERS if style == TOKEN_STYLE else IDENTITY_PARAMETERS)
    return DjangoOAuth2Request(request, query=query, form=form, params=params)
