"""Reading a Django request's query and body strictly: media types, forms, JSON.

Django's own parsing is forgiving in ways an authorization server must not be: undecodable bytes
turn into replacement characters, and size or field-count limits raise exceptions that become
HTML error pages. Here every failure to read is an `invalid_request` (RFC 6749 §5.2). The OAuth
request objects built on these readers are in `requests.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.utils.http import parse_header_parameters

__all__ = [
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "MAX_JSON_DEPTH",
    "MediaType",
    "Params",
    "has_control_characters",
    "parse_media_type",
    "read_body",
    "read_form",
    "read_json_body",
    "read_query",
    "request_media_type",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MULTIPART_CONTENT_TYPE = "multipart/form-data"
JSON_CONTENT_TYPE = "application/json"

Params = dict[str, list[str]]

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
    if not query:
        return {}  # what parsing an empty query gives, without the parser (most requests)
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
    if request_media_type(request).essence != JSON_CONTENT_TYPE:
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
    if has_lone_surrogates(data):
        raise InvalidRequestError(LONE_SURROGATE)
    return data


# (No quote or backslash: the protocol endpoints' error_description allows neither.)
LONE_SURROGATE = "The JSON holds an escape of a lone surrogate (U+D800 to U+DFFF), which names no character."


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogates(value: Any) -> bool:
    """Whether parsed JSON holds a string (or key) with a lone surrogate. json.loads turns the
    escape "\\ud800" into one, which no UTF-8 page, file or database can hold: a page that echoed
    it failed to encode (the client import's preview: a 500). Every JSON reader refuses it."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


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
