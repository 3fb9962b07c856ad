"""Who a request is counted as: its address, the client_id it claims, the user name it signs in as.

Each identity is read exactly the way the code that acts on the request reads it (the token
endpoint's credential parsing, the sign-in form and Django's ModelBackend): an identity spelled
differently from what is authenticated would either escape its counter or lock someone else.
"""

from __future__ import annotations

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


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the address the outermost of OAUTH2_RATE_LIMIT_PROXY_COUNT trusted proxies
    saw (the left part of X-Forwarded-For is the client's word only, so it is never used)."""
    proxies = server_settings.OAUTH2_RATE_LIMIT_PROXY_COUNT
    address = request.META.get("REMOTE_ADDR", "")
    if proxies > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    address = address[:64]
    if ":" in address:
        try:
            address = clean_ipv6_address(address)
        except Exception:
            logger.debug("unparsable IPv6 address in rate limiting")
    return address


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
