"""Rate limits on the protocol endpoints and the sign-in forms, counted in the Django cache.

Fixed-window counters (`cache.add` + `cache.incr`, one key per window): cheap, shared by every
worker when the cache is Redis, and good enough here; a window boundary can let through up to
twice a limit in a short burst, which the limits' sizes allow for.

What is limited (names are the keys of `settings.OAUTH2_RATE_LIMITS`, "count/seconds"):

- requests per address and per claimed client_id at `/oauth/token`, `/oauth/introspect`,
  `/oauth/revoke` (`token_ip`, `token_client`, ...), per address at `/oauth/register*`;
- sign-in attempts (POSTs) per address and per user name at `/accounts/login/` and
  `/admin/login/`;
- failed client authentications (secret guessing): a client_id that failed too often from one
  address is locked at that address (`auth_failures_client_ip`); one that failed too often across
  addresses (`auth_failures_client`, a higher threshold) is locked everywhere except at addresses
  from which it authenticated successfully before, so a distributed guesser cannot lock the real
  client out.

A throttled protocol request gets 429 with `Retry-After` and the JSON error `slow_down` (the
IANA-registered "you are asking too fast" code); a throttled sign-in gets a 429 page. Each throttle
sends `server.signals.request_throttled`. When the cache fails (Redis down), limiting is skipped
for a few seconds at a time and the failure is logged: an outage must neither break the
endpoints nor lock everyone out.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from server import signals
from server.actors import Actor

logger = logging.getLogger(__name__)

# URL name -> the scope its limits are named after. Registration's two doors share one scope.
PROTOCOL_SCOPES = {
    "oauth-token": "token",
    "oauth-introspect": "introspect",
    "oauth-revoke": "revoke",
    "oauth-register": "register",
    "oauth-client-configuration": "register",
}
LOGIN_VIEWS = ("login", "admin:login")
# Scopes where a client authenticates: a claimed client_id is counted and may be locked.
CLIENT_AUTH_SCOPES = ("token", "introspect", "revoke")
MAX_CLIENT_ID_LENGTH = 64
# After a cache error, skip limiting for this long before trying the cache again, so an outage
# costs one connect timeout per few seconds rather than one per request.
CACHE_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Rate:
    """At most `limit` events per fixed window of `window` seconds."""

    limit: int
    window: int

    @classmethod
    def parse(cls, text: str | None) -> Rate | None:
        """ "30/60" -> Rate(30, 60); "", "0" or "off" -> None (no limit). Raises ValueError."""
        text = (text or "").strip().lower()
        if text in {"", "0", "off", "none"}:
            return None
        count, _, seconds = text.partition("/")
        rate = cls(int(count), int(seconds or 1))
        if rate.limit < 1 or rate.window < 1:
            raise ValueError(f"a rate needs a positive count and window, got {text!r}")
        return rate


@dataclass(frozen=True)
class Throttle:
    """Why a request was refused and when the caller may try again."""

    scope: str
    limit: str  # the OAUTH2_RATE_LIMITS key that tripped
    retry_after: int
    client_id: str = ""
    ip: str = ""


def rate(name: str) -> Rate | None:
    """The configured rate called `name` (None: not limited)."""
    return _parsed(settings.OAUTH2_RATE_LIMITS.get(name))


@functools.lru_cache(maxsize=64)
def _parsed(text: str | None) -> Rate | None:
    # Settings may change in tests, so the text is the key, not the name.
    return Rate.parse(text)


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the address the outermost of OAUTH2_RATE_LIMIT_PROXY_COUNT trusted proxies
    saw (the left part of X-Forwarded-For is the client's word only, so it is never used)."""
    proxies = settings.OAUTH2_RATE_LIMIT_PROXY_COUNT
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


def claimed_client_id(request: HttpRequest) -> str:
    """The client_id a request claims (Basic auth, else the form), unverified: only a counter key."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return ""
        client_id = unquote(decoded.partition(":")[0])
    else:
        # Only a form body is parsed here; reading request.POST of anything else could fail, and
        # the endpoint answers such a request with its own error anyway.
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method != "POST" or not content_type.startswith("application/x-www-form-urlencoded"):
            return ""
        try:
            client_id = request.POST.get("client_id", "")
        except Exception:
            return ""
    return client_id if 0 < len(client_id) <= MAX_CLIENT_ID_LENGTH else ""


def _key(*parts: str) -> str:
    # Hashed: client ids, user names and addresses may hold characters memcached/Redis keys
    # should not, and the key must not grow with the input.
    ident = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"ratelimit:{parts[0]}:{ident}"


class _CacheGuard:
    """Runs cache calls; after a failure, reports the cache as down for CACHE_RETRY_SECONDS."""

    def __init__(self) -> None:
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, exc: Exception) -> None:
        with self._lock:
            first = self.available
            self._down_until = time.monotonic() + CACHE_RETRY_SECONDS
        if first:
            logger.warning(
                "rate limiting skipped: the cache is unavailable (%s: %s); requests are allowed",
                type(exc).__name__,
                exc,
            )

    def reset(self) -> None:
        self._down_until = 0.0


cache_guard = _CacheGuard()


def _cache():
    return caches[settings.OAUTH2_RATE_LIMIT_CACHE]


def _window(rate_: Rate, now: float) -> tuple[int, int]:
    """(window start, seconds until the window ends, at least 1)."""
    start = int(now // rate_.window) * rate_.window
    return start, max(1, math.ceil(start + rate_.window - now))


def _counter_key(name: str, identity: str, rate_: Rate, now: float) -> str:
    start, _ = _window(rate_, now)
    return _key(name, identity, str(rate_.window), str(start))


def _increment(cache, key: str, timeout: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet in this window
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)


def _count(name: str, identity: str, now: float) -> int | None:
    """Count one event against rate `name` for `identity`; seconds to wait if over, else None."""
    rate_ = rate(name)
    if rate_ is None or not identity:
        return None
    _, remaining = _window(rate_, now)
    count = _increment(_cache(), _counter_key(name, identity, rate_, now), rate_.window + 1)
    return remaining if count > rate_.limit else None


def _trusted_key(client_id: str, ip: str) -> str:
    return _key("trusted", client_id, ip)


def _locked(client_id: str, ip: str, now: float) -> tuple[tuple[str, int] | None, bool]:
    """Whether secret guessing for `client_id` is locked at `ip` ((limit name, retry after) or
    None), and whether the client authenticated from `ip` before."""
    per_ip, per_client = rate("auth_failures_client_ip"), rate("auth_failures_client")
    keys = {}
    if per_ip:
        keys["auth_failures_client_ip"] = _counter_key(
            "auth_failures_client_ip", f"{client_id}|{ip}", per_ip, now
        )
    if per_client:
        keys["auth_failures_client"] = _counter_key("auth_failures_client", client_id, per_client, now)
    if not keys:
        return None, False
    trusted_key = _trusted_key(client_id, ip)
    found = _cache().get_many([*keys.values(), trusted_key])
    trusted = bool(found.get(trusted_key))
    for name, key in keys.items():
        rate_ = per_ip if name == "auth_failures_client_ip" else per_client
        if (found.get(key) or 0) >= rate_.limit:
            if name == "auth_failures_client" and trusted:
                # Locked across addresses, but the real client authenticated from here before.
                continue
            return (name, _window(rate_, now)[1]), trusted
    return None, trusted


def _is_client_auth_failure(response: HttpResponse) -> bool:
    if response.status_code not in (400, 401) or "json" not in response.get("Content-Type", ""):
        return False
    return b'"invalid_client"' in response.content


@dataclass(frozen=True)
class Claim:
    """Who a protocol request says it is: the client_id it claims, from which address, and
    whether that client authenticated from there before."""

    client_id: str
    ip: str
    trusted: bool = False


def _record_outcome(claim: Claim, response: HttpResponse, now: float) -> None:
    """Count a failed client authentication, or remember the address of a successful one."""
    client_id, ip = claim.client_id, claim.ip
    if _is_client_auth_failure(response):
        _count("auth_failures_client_ip", f"{client_id}|{ip}", now)
        _count("auth_failures_client", client_id, now)
    elif response.status_code == 200 and not claim.trusted:
        _cache().add(_trusted_key(client_id, ip), 1, timeout=settings.OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL)


def check_protocol_request(scope: str, request: HttpRequest) -> tuple[Throttle | None, Claim]:
    """Count a protocol request against its limits: the Throttle if it must be refused, and
    what the request claims."""
    ip = client_ip(request)
    client_id = claimed_client_id(request) if scope in CLIENT_AUTH_SCOPES else ""
    now = time.time()
    trusted = False
    if client_id:
        lock, trusted = _locked(client_id, ip, now)
        if lock:
            return Throttle(scope, lock[0], lock[1], client_id, ip), Claim(client_id, ip, trusted)
    claim = Claim(client_id, ip, trusted)
    for name, identity in ((f"{scope}_ip", ip), (f"{scope}_client", client_id)):
        wait = _count(name, identity, now)
        if wait:
            return Throttle(scope, name, wait, client_id, ip), claim
    return None, claim


def check_login_attempt(request: HttpRequest) -> Throttle | None:
    """Count a sign-in attempt (a POST) per address and per user name."""
    ip = client_ip(request)
    try:
        username = (request.POST.get("username") or "").strip().lower()[:150]
    except Exception:
        username = ""
    now = time.time()
    for name, identity in (("login_ip", ip), ("login_username", username)):
        wait = _count(name, identity, now)
        if wait:
            return Throttle("login", name, wait, "", ip)
    return None


def throttled_response(request: HttpRequest, throttle: Throttle) -> HttpResponse:
    """429 with Retry-After: the RFC-style JSON error for machines, a page for people."""
    if throttle.scope == "login":
        response = render(request, "throttled.html", {"retry_after": throttle.retry_after}, status=429)
    else:
        if throttle.limit.startswith("auth_failures"):
            description = "Too many failed client authentications; try again later."
        else:
            description = "Too many requests; slow down and try again later."
        response = JsonResponse({"error": "slow_down", "error_description": description}, status=429)
        response["Pragma"] = "no-cache"
    response["Retry-After"] = str(throttle.retry_after)
    response["Cache-Control"] = "no-store"
    return response


def _announce(request: HttpRequest, throttle: Throttle) -> None:
    actor = Actor.client(throttle.client_id) if throttle.client_id else Actor.system("rate-limit")
    try:
        signals.request_throttled.send(
            sender=RateLimitMiddleware,
            request=request,
            scope=throttle.scope,
            limit=throttle.limit,
            client_id=throttle.client_id,
            ip=throttle.ip,
            retry_after=throttle.retry_after,
            actor=actor,
            at=timezone.now(),
        )
    except Exception:
        # A receiver's failure must not turn a 429 into a 500.
        logger.exception("a request_throttled receiver failed")


class RateLimitMiddleware:
    """Applies the limits above to the views listed in PROTOCOL_SCOPES and LOGIN_VIEWS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        claim = getattr(request, "_ratelimit_claim", None)
        if claim is not None and cache_guard.available:
            try:
                _record_outcome(claim, response, time.time())
            except Exception as exc:
                cache_guard.failed(exc)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if not settings.OAUTH2_RATE_LIMIT_ENABLED or request.resolver_match is None:
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
                throttle, claim = check_protocol_request(scope, request)
                if throttle is None and claim.client_id:
                    request._ratelimit_claim = claim
        except Exception as exc:
            cache_guard.failed(exc)
            return None
        if throttle is None:
            return None
        _announce(request, throttle)
        return throttled_response(request, throttle)
