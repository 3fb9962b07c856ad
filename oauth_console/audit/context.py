"""The request an event happened in (IP, user agent, request id), held in a ContextVar.

The middleware sets it for the duration of a request; receivers of signals that carry no
`request` (the service signals, sent after commit) read it from here. Outside a request
(management commands, cron) it is None.
"""

import ipaddress
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.http import HttpRequest
from django.utils.ipv6 import clean_ipv6_address

from oauth_console.hot_settings import setting
from server.ratelimit.identity import forwarded_address

# Letters, digits and a few separators: enough for UUIDs and the ids proxies generate, never
# anything that could smuggle a newline or markup into a log line or a response header.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
USER_AGENT_MAX_LENGTH = 300


@dataclass(frozen=True, slots=True)
class DeferredEvent:
    """An event held back until the request ends (built only if nothing absorbed it; `build`
    may decide there is nothing to write and return None)."""

    event_type: str
    client_id: str
    method: str | None
    build: Callable[[], Any]


@dataclass(slots=True)
class RequestContext:
    """What the audit log records about the request behind an event."""

    ip_address: str | None
    user_agent: str
    request_id: str
    # Events waiting for the end of the request (one INSERT for all); None: write at once.
    pending: list | None = field(default=None, compare=False)
    # Events a later event of the same request may absorb (client_authenticated into
    # token_issued); the middleware writes what is left when the request ends.
    deferred: list = field(default_factory=list, compare=False)
    # Clients this request issued a token to: a client_authenticated sent after its token_issued
    # (a provisional client's, `server.oauth2.provisional`) has nothing left to say.
    issued_to: set = field(default_factory=set, compare=False)


current_request: ContextVar[RequestContext | None] = ContextVar("audit_request_context", default=None)


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID if it is a sane token, else a new random id."""
    if header and REQUEST_ID_PATTERN.fullmatch(header):
        return header
    return uuid.uuid4().hex


# Every request's audit context normalises its client's address (ipaddress parses it in Python:
# ~2 us); a pure function of the string, so the last few hundred answers are kept.
@lru_cache(maxsize=512)
def normalise_ip(value: str | None) -> str | None:
    """The address in canonical form (so it hashes the same after a database round trip), or None."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if address.version == 4:
        return str(address)
    # Without its zone id ("%eth0", RFC 4007 §11): which of our interfaces a packet came in on
    # says nothing about who sent it, and Django's IPv6 cleaning refuses one past 39 characters
    # with a ValidationError (X-Forwarded-For or the audit list's IP filter made it a 500).
    # Django writes IPv6 in its own canonical form (IPv4-mapped as ::ffff:1.2.3.4); use the same.
    return clean_ipv6_address(str(ipaddress.IPv6Address(int(address))))


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address AUDIT_PROXY_COUNT trusted proxies saw (X-Forwarded-For), read
    by the rate limiter's one reader of the header (a port a proxy wrote after it dropped)."""
    return normalise_ip(forwarded_address(request, setting("AUDIT_PROXY_COUNT", 0)))


def context_for(request: HttpRequest) -> RequestContext:
    """Build the audit context of `request` (reusing the one the middleware made for it)."""
    existing = getattr(request, "audit_context", None)
    if existing is not None:
        return existing
    return RequestContext(
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
        request_id=getattr(request, "request_id", None)
        or request_id_from(request.META.get("HTTP_X_REQUEST_ID")),
    )
