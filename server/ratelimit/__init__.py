"""Rate limits on the protocol endpoints, the sign-in forms and self sign-up, counted in the cache.

Fixed-window counters (one key per window, `INCR` and `EXPIRE` on first use): cheap, shared by
every worker when the cache is Redis, and good enough here; a window boundary can let through up
to twice a limit in a short burst, which the limits' sizes allow for. A protocol request costs one
cache round trip (`server/cache_round_trip.py`: one Lua script on Redis): its lockout lookup,
trusted address, counters and the audit log's marks together.

What is limited (names are the keys of `server_settings.OAUTH2_RATE_LIMITS`, "count/seconds"):

- requests per address and per claimed client_id at `/oauth/token`, `/oauth/introspect`,
  `/oauth/revoke` (`token_ip`, `token_client`, ...), per address at `/oauth/register*`;
- failed client authentications (secret guessing), see `clients.py`, counted from
  `server.oauth2.signals.client_authentication_failed` (and an address trusted from
  `client_authenticated`): the authentication code says what happened, once;
- failed sign-ins (POSTs) per address and per account at `/accounts/login/` and
  `/admin/login/`, never locking the real user out where they signed in before, see
  `signin.py`;
- sign-up attempts per address (`signup_ip`), through `throttle_form_post` in the view;
- user codes typed at /device per address and per signed-in user (`user_code_ip`,
  `user_code_user`), through `check_user_code_attempt` in the view, see `user_codes.py`.

A throttled protocol request gets 429 with `Retry-After` and the JSON error `slow_down` (the
IANA-registered "you are asking too fast" code); a throttled person gets a 429 page. Each throttle
sends `server.signals.request_throttled`. When the cache fails (Redis down), limiting is skipped
for a few seconds at a time and the failure is logged: an outage must neither break the
endpoints nor lock everyone out.

The package's modules: `counters` (rates, windows, the cache guard), `identity` (who a request
is counted as), `clients` (secret guessing), `signin` (password guessing), `responses` (429 and
the signal), `overlap` (a calm client's round trip overlapping its database lookup). This module
holds the entry points, and reads the clock (`time.time()`) once per request: the seam tests pin.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from server import cache_marks, outstanding_round_trip
from server import cache_round_trip as round_trip
from server.conf import server_settings
from server.oauth2 import signals as oauth2_signals

from . import overlap, plans, signin, user_codes
from .clients import Claim, record_failure, record_success, start_prepared
from .counters import Rate, Throttle, cache, cache_guard, count, counter, rate, retry_after
from .identity import client_address, client_ip, counted_client_id, login_identity
from .responses import announce, throttled_response
from .signin import DEVICE_COOKIE

__all__ = [
    "DEVICE_COOKIE",
    "Claim",
    "Rate",
    "RateLimitMiddleware",
    "Throttle",
    "cache_guard",
    "check_login_attempt",
    "check_protocol_request",
    "check_user_code_attempt",
    "client_address",
    "client_ip",
    "counted_client_id",
    "login_identity",
    "rate",
    "throttle_form_post",
    "throttled_response",
    "user_code_accepted",
]

# URL name -> the scope its limits are named after. Registration's two doors share one scope.
PROTOCOL_SCOPES = {
    "oauth-token": "token",
    # Clients authenticate there as at the token endpoint: the same limits and lockouts.
    "oauth-device-authorization": "token",
    "oauth-introspect": "introspect",
    "oauth-revoke": "revoke",
    "oauth-register": "register",
    "oauth-client-configuration": "register",
}
LOGIN_VIEWS = ("login", "admin:login")
# Scopes where a client authenticates: a claimed client_id is counted and may be locked.
CLIENT_AUTH_SCOPES = ("token", "introspect", "revoke")


def check_protocol_request(scope: str, request: HttpRequest) -> tuple[Throttle | None, Claim]:
    """Count a protocol request against its limits, in one cache round trip: the Throttle if it
    must be refused, and what the request claims.

    A request claiming a client_id reads, in the same round trip, the client's lockout counters,
    whether it authenticated from this address before, and the marks other apps registered
    (`server.cache_marks`: the audit log's once-per-interval marks)."""
    return start_protocol_request(scope, request).finish()[:2]


class Started:
    """A protocol request's round trip, sent: `finish()` waits for it and gives (the Throttle
    or None, the Claim, whether nothing is near a limit)."""

    def __init__(self, scope: str, client_id: str, ip: str, finish) -> None:
        self.scope, self.client_id, self.ip, self.finish = scope, client_id, ip, finish


def start_protocol_request(scope: str, request: HttpRequest) -> Started:
    """`check_protocol_request` in two halves (`server.cache_round_trip.start`)."""
    ip = client_ip(request)
    client_id = counted_client_id(request) if scope in CLIENT_AUTH_SCOPES else ""
    now = time.time()
    if not client_id:
        # No client claimed: only the address is counted.
        by_address = counter(f"{scope}_ip", ip, now)
        counted = [by_address] if by_address else []
        outcome = round_trip.run(cache(), counters=counted)
        over = outcome.over_limit(counted)
        throttle = Throttle(scope, over.name, retry_after(over.name, now), "", ip) if over else None
        return Started(scope, "", ip, lambda: (throttle, Claim("", ip), False))
    alias = server_settings.OAUTH2_RATE_LIMIT_CACHE
    marks = cache_marks.mark_keys(request, client_id, alias)
    counters_cache = cache()
    plan = plans.plan_for(scope, client_id, ip, marks, now, counters_cache, alias)
    counted = plan.counted
    answer = start_prepared(plan.prepared, plan.trusted_key, plan.gates, now, counters_cache)

    def finish() -> tuple[Throttle | None, Claim, bool]:
        checked = answer()
        cache_marks.note_read(request, {mark: checked.outcome.values.get(mark) is not None for mark in marks})
        claim = Claim(client_id, ip, checked.trusted)
        overlap.note(scope, client_id, ip, counted, checked.outcome.counts, calm=checked.far_from_lock)
        if checked.lock:
            return Throttle(scope, *checked.lock, client_id, ip), claim, False
        over = checked.outcome.over_limit(counted)
        if over is not None and checked.trusted and over.name == f"{scope}_client":
            # Anyone may claim a client_id (it is public): a flood claiming it fills the client's
            # counter, and must not throttle the real client where it authenticated before (as
            # the secret-guessing lockout spares it); its address's own limit still holds.
            over = None
        if over is not None:
            return Throttle(scope, over.name, retry_after(over.name, now), client_id, ip), claim, False
        return None, claim, True

    return Started(scope, client_id, ip, finish)


def check_login_attempt(request: HttpRequest) -> Throttle | None:
    """Count a sign-in attempt (a POST) per address and per account; taken back if it succeeds."""
    throttle, attempt = signin.check(request, time.time())
    request._ratelimit_sign_in = attempt
    return throttle


def check_user_code_attempt(request: HttpRequest) -> HttpResponse | None:
    """Count a user code typed at /device (RFC 8628 §5.1); the 429 page if over a limit (sent as
    `request_throttled`), else None. `user_code_accepted` takes a right code's attempt back."""
    if not server_settings.OAUTH2_RATE_LIMIT_ENABLED or not cache_guard.available:
        return None
    try:
        throttle, request._ratelimit_user_code = user_codes.check(request, time.time())
    except Exception as exc:
        cache_guard.failed(exc)
        return None
    if throttle is None:
        return None
    announce(request, throttle, RateLimitMiddleware)
    return throttled_response(request, throttle)


def user_code_accepted(request: HttpRequest) -> None:
    """The code typed found a waiting device: its attempt does not count."""
    counted = getattr(request, "_ratelimit_user_code", None)
    if not counted or not cache_guard.available:
        return
    try:
        user_codes.take_back(counted)
    except Exception as exc:
        cache_guard.failed(exc)


def throttle_form_post(request: HttpRequest, scope: str) -> HttpResponse | None:
    """Count a form POST per address against `<scope>_ip`; the 429 page if over, else None.

    For views outside the middleware's list, called by the view itself once it knows the POST
    is one to count (e.g. the portal's sign-up, after its on/off switch)."""
    if not server_settings.OAUTH2_RATE_LIMIT_ENABLED or request.method != "POST" or not cache_guard.available:
        return None
    ip = client_ip(request)
    try:
        wait = count(f"{scope}_ip", ip, time.time())
    except Exception as exc:
        cache_guard.failed(exc)
        return None
    if not wait:
        return None
    throttle = Throttle(scope, f"{scope}_ip", wait, "", ip)
    announce(request, throttle, RateLimitMiddleware)
    return throttled_response(request, throttle)


@receiver(user_logged_in, dispatch_uid="server.ratelimit.signed_in")
def _on_user_logged_in(sender, request: HttpRequest | None = None, user=None, **kwargs) -> None:
    # Any successful sign-in (the sign-in forms, the portal's sign-up): take its attempt back and
    # remember where it came from, so a lockout of the account spares this address and browser.
    if request is None or user is None or not cache_guard.available:
        return
    try:
        request._ratelimit_signed_in = signin.signed_in(request, user.get_username())
    except Exception as exc:
        cache_guard.failed(exc)


def _claim_of(request: HttpRequest | None) -> Claim | None:
    # Only a request this middleware counted carries a claim (a protocol request of a
    # client-authenticating scope, limits on); any other authentication is not ours to count.
    # A round trip still outstanding (`overlap`) is settled first: a refused request has none.
    with contextlib.suppress(outstanding_round_trip.Refused):
        outstanding_round_trip.settle()
    claim = getattr(request, "_ratelimit_claim", None)
    return claim if claim is not None and cache_guard.available else None


@receiver(oauth2_signals.client_authentication_failed, dispatch_uid="server.ratelimit.client_auth_failed")
def _on_client_authentication_failed(
    sender, request: HttpRequest | None = None, public: bool = False, **kwargs
) -> None:
    # Sent with `send`, inside the endpoint: never raise into it. A public client has no secret
    # or key to guess: counting failures that claim it would only let anyone lock it out.
    if public:
        return
    claim = _claim_of(request)
    if claim is None:
        return
    try:
        record_failure(claim, time.time())
    except Exception as exc:
        cache_guard.failed(exc)


@receiver(oauth2_signals.client_authenticated, dispatch_uid="server.ratelimit.client_authenticated")
def _on_client_authenticated(sender, request: HttpRequest | None = None, **kwargs) -> None:
    claim = _claim_of(request)
    if claim is None:
        return
    try:
        record_success(claim)
    except Exception as exc:
        cache_guard.failed(exc)


class RateLimitMiddleware:
    """Applies the limits above to the views listed in PROTOCOL_SCOPES and LOGIN_VIEWS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        finally:
            # A client-authenticating request's round trip may have been left outstanding while
            # the view ran (`overlap`): the client lookup settled it, or this does.
            outstanding = request.__dict__.pop("_ratelimit_outstanding", None)
            if outstanding is not None:
                outstanding.close()
        refused = getattr(request, "_ratelimit_refused", None)
        if refused is not None:
            return refused
        identity = getattr(request, "_ratelimit_signed_in", None)
        if identity:
            signin.remember_device(request, response, identity)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, outstanding_round_trip.Refused):
            return request._ratelimit_refused
        return None

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if not server_settings.OAUTH2_RATE_LIMIT_ENABLED or request.resolver_match is None:
            return None
        view_name = request.resolver_match.view_name
        scope = PROTOCOL_SCOPES.get(view_name)
        if scope is None and not (view_name in LOGIN_VIEWS and request.method == "POST"):
            return None
        if not cache_guard.available:
            return None
        try:
            if scope is None:
                throttle = check_login_attempt(request)
            else:
                started = start_protocol_request(scope, request)
                if overlap.allowed(scope, started.client_id, started.ip):
                    # Settled by the client lookup (`outstanding_round_trip.settle`), else at the end.
                    request._ratelimit_started = started
                    settle = functools.partial(_settle, request)
                    request._ratelimit_outstanding = outstanding_round_trip.outstanding(settle)
                    return None
                throttle, claim, _ = started.finish()
                if throttle is None and claim.client_id:
                    request._ratelimit_claim = claim
        except Exception as exc:
            cache_guard.failed(exc)
            return None
        if throttle is None:
            return None
        announce(request, throttle, RateLimitMiddleware)
        return throttled_response(request, throttle)


def _settle(request: HttpRequest) -> None:
    """Wait for the request's outstanding round trip (if any) and act on it: keep its claim, or
    record its refusal and raise Refused (the 429 is answered by the middleware)."""
    started = request.__dict__.pop("_ratelimit_started", None)
    if started is None:
        return
    try:
        throttle, claim, _ = started.finish()
    except Exception as exc:  # a cache outage allows, as before
        cache_guard.failed(exc)
        return
    if throttle is None:
        request._ratelimit_claim = claim
        return
    announce(request, throttle, RateLimitMiddleware)
    request._ratelimit_refused = throttled_response(request, throttle)
    raise outstanding_round_trip.Refused(throttle.limit)
