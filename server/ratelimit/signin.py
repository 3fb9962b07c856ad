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

from server import cache_round_trip as round_trip
from server.conf import server_settings

from .counters import Throttle, cache, counter, key, retry_after, uncount
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


def is_known(request: HttpRequest, identity: str, address_known: bool) -> bool:
    """Whether the account `identity` signed in before from this browser or (`address_known`,
    read in the attempt's round trip) this address."""
    return address_known or _account_mark(identity) in _device_marks(request)


def posted_username(request: HttpRequest) -> str:
    try:
        return request.POST.get("username") or ""
    except Exception:  # an unreadable body: the form refuses it too
        return ""


def check(request: HttpRequest, now: float) -> tuple[Throttle | None, SignInAttempt]:
    """Count a sign-in attempt (a POST) per address and per account, in one round trip with the
    account's known address: the Throttle if it must be refused, and the attempt (to take back
    on success)."""
    attempt = SignInAttempt(login_identity(posted_username(request)), client_ip(request))
    counters = [counter("login_ip", attempt.ip, now), counter("login_username", attempt.identity, now)]
    counted = [c for c in counters if c]
    address = _address_key(attempt.identity, attempt.ip)
    # Both counted whatever the other says: an attempt refused for its address still counts
    # against the account it tried.
    outcome = round_trip.run(cache(), reads=[address], counters=counted, stop_over_limit=False)
    attempt.counted = [c.key for c in counted]
    over = {c.name for c, value in zip(counted, outcome.counts, strict=True) if value > c.limit}
    if "login_ip" in over:
        return Throttle("login", "login_ip", retry_after("login_ip", now), "", attempt.ip), attempt
    if "login_username" in over and not is_known(request, attempt.identity, bool(outcome.values[address])):
        wait = retry_after("login_username", now)
        return Throttle("login", "login_username", wait, "", attempt.ip), attempt
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
