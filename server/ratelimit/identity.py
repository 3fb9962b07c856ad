"""Who a request is counted as: its address, the client_id it claims, the user name it signs in as.

Each identity is read exactly the way the code that acts on the request reads it (the token
endpoint's credential parsing, the sign-in form and Django's ModelBackend): an identity spelled
differently from what is authenticated would either escape its counter or lock someone else.
"""

from __future__ import annotations

import ipaddress
import re

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils.ipv6 import clean_ipv6_address

from server.conf import server_settings
from server.models import MAX_CLIENT_ID_LENGTH
from server.oauth2 import OAuth2Error
from server.oauth2.bodies import read_form
from server.oauth2.client_auth import body_client_id as form_client_id
from server.oauth2.client_auth import claimed_client_id

from .counters import logger

# An address a proxy wrote with its port: "203.0.113.9:51234" or "[2001:db8::1]:51234".
_WITH_PORT = re.compile(r"\[(?P<v6>[^\]]+)\](?::[0-9]{1,5})?|(?P<v4>[0-9.]+):[0-9]{1,5}")


def forwarded_address(request: HttpRequest, proxies: int) -> str:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry the outermost of
    `proxies` trusted proxies added (the left part is the client's word only, so it is never
    used), without the port some proxies write after it; an IPv6 address in canonical form.

    The one reader of the header: the rate limiter's (OAUTH2_RATE_LIMIT_PROXY_COUNT) and the
    audit log's (AUDIT_PROXY_COUNT) addresses are read here."""
    address = request.META.get("REMOTE_ADDR", "")
    if proxies > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    address = address[:64]
    with_port = _WITH_PORT.fullmatch(address)
    if with_port:
        address = with_port["v6"] or with_port["v4"]
    if ":" in address:
        try:
            address = clean_ipv6_address(address)
        except Exception:
            logger.debug("unparsable IPv6 address in rate limiting")
    return address


def client_address(request: HttpRequest) -> str:
    """The client's address as the rate limiter reads it (`forwarded_address` behind
    OAUTH2_RATE_LIMIT_PROXY_COUNT proxies)."""
    return forwarded_address(request, server_settings.OAUTH2_RATE_LIMIT_PROXY_COUNT)


def client_ip(request: HttpRequest) -> str:
    """The address a request is counted under: `client_address`, with an IPv6 address counted
    by its /64 network (one subscriber's, RFC 6177: whoever holds one chooses among 2**64
    addresses, so a fresh counter for every request otherwise) and an IPv4 address written as
    IPv6 (::ffff:a.b.c.d) as that IPv4 address."""
    address = client_address(request)
    if ":" not in address:
        return address
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


def counted_client_id(request: HttpRequest) -> str:
    """The client_id a protocol request is counted under: the one it claims, read as the token
    endpoint reads it (`server.oauth2.claimed_client_id`: the Basic header, else the form body
    parsed by `read_form`: its client_id, else its client_assertion's sub), unverified; "" when
    none, or one no client can have."""

    def body_client_id() -> str | None:
        if request.method != "POST":
            return None
        try:
            form = read_form(request, required=True)
        except OAuth2Error:
            return None  # not a body the endpoint reads: it refuses the request before authentication
        return form_client_id({name: values[0] for name, values in form.items() if values})

    client_id = claimed_client_id(request, body_client_id) or ""
    return client_id if len(client_id) <= MAX_CLIENT_ID_LENGTH else ""


def login_identity(username: str) -> str:
    """The account a sign-in form's user name designates, as the form and the backend see it.

    Django's sign-in form strips surrounding whitespace and NFKC-normalises (its UsernameField,
    the same normalisation as the user model's `normalize_username`: "staff" in fullwidth letters
    is "staff"); ModelBackend then looks the name up exactly, case included: "Staff" is another
    identity, which cannot sign in as "staff". Were the project to adopt a case-insensitive
    backend, this is the one place to fold case too (tests/security/test_sign_in_throttle.py
    checks this function against what really signs in).
    """
    username = (username or "").strip()
    user_model = get_user_model()
    max_length = user_model._meta.get_field(user_model.USERNAME_FIELD).max_length
    if max_length is not None and len(username) > max_length:
        # The form refuses it unnormalised (normalising long input is slow); it signs in nobody.
        return username
    return user_model.normalize_username(username)
