"""Password guessing at the sign-in forms: counted per address and per account, never against the
real user where they signed in before.

An attempt is counted before the password is checked (so parallel guesses cannot slip past the
limit while the hasher runs) and taken back when it succeeds: successful sign-ins never use up a
limit. When an account's limit (`login_username`) is reached it is locked for strangers only: a
browser that signed in to that account before (a signed "known device" cookie, as OWASP's device
cookies) or an address it signed in from before (as for clients' secret guessing) still gets in,
so guessing from many addresses cannot keep the real user out. Their own wrong passwords still
count. The per-address limit (`login_ip`) applies to everyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from server.conf import server_settings

from .counters import Throttle, cache, count, key, uncount
from .identity import client_ip, login_identity

DEVICE_COOKIE = "signin_device"
_DEVICE_SALT = "server.ratelimit.signin.device"
# Accounts one browser is remembered for (shared computers, an operator with two accounts).
_DEVICE_ACCOUNTS = 5


@dataclass
class SignInAttempt:
    """A counted sign-in attempt: the account it names, from where, and the counters to take
    back if it succeeds."""

    identity: str
    ip: str
    counted: list[str] = field(default_factory=list)


def _account_mark(identity: str) -> str:
    # Keyed, so the cookie does not show which accounts the browser signed in to.
    return salted_hmac(_DEVICE_SALT, identity).hexdigest()[:24]


def _trust_ttl() -> int:
    return server_settings.OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL


def _device_marks(request: HttpRequest) -> list[str]:
    value = request.get_signed_cookie(DEVICE_COOKIE, default="", salt=_DEVICE_SALT, max_age=_trust_ttl())
    return [mark for mark in value.split(",") if mark]


def _address_key(identity: str, ip: str) -> str:
    return key("login_trusted", identity, ip)


def is_known(request: HttpRequest, identity: str, ip: str) -> bool:
    """Whether the account `identity` signed in before from this browser or this address."""
    if _account_mark(identity) in _device_marks(request):
        return True
    return bool(cache().get(_address_key(identity, ip)))


def posted_username(request: HttpRequest) -> str:
    try:
        return request.POST.get("username") or ""
    except Exception:  # an unreadable body: the form refuses it too
        return ""


def check(request: HttpRequest, now: float) -> tuple[Throttle | None, SignInAttempt]:
    """Count a sign-in attempt (a POST) per address and per account: the Throttle if it must be
    refused, and the attempt (to take back on success)."""
    attempt = SignInAttempt(login_identity(posted_username(request)), client_ip(request))
    wait_ip = count("login_ip", attempt.ip, now, counted=attempt.counted)
    wait_account = count("login_username", attempt.identity, now, counted=attempt.counted)
    if wait_ip:
        return Throttle("login", "login_ip", wait_ip, "", attempt.ip), attempt
    if wait_account and not is_known(request, attempt.identity, attempt.ip):
        return Throttle("login", "login_username", wait_account, "", attempt.ip), attempt
    return None, attempt


def signed_in(request: HttpRequest, username: str) -> str:
    """A sign-in succeeded: take its attempt back and remember this address for the account.
    Returns the account's identity, for `remember_device` once the response exists."""
    attempt: SignInAttempt | None = getattr(request, "_ratelimit_sign_in", None)
    if attempt is not None:
        uncount(attempt.counted)
        attempt.counted.clear()
    identity = login_identity(username)
    cache().set(_address_key(identity, client_ip(request)), 1, timeout=_trust_ttl())
    return identity


def remember_device(request: HttpRequest, response: HttpResponse, identity: str) -> None:
    """Mark this browser as one the account signed in with (a signed, HttpOnly cookie)."""
    mark = _account_mark(identity)
    others = [m for m in _device_marks(request) if m != mark]
    marks = [mark, *others[: _DEVICE_ACCOUNTS - 1]]
    response.set_signed_cookie(
        DEVICE_COOKIE,
        ",".join(marks),
        salt=_DEVICE_SALT,
        max_age=_trust_ttl(),
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
