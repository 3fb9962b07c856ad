"""Validating JWT access tokens offline (RFC 9068 §4), for resource servers: other Django apps
that accept the tokens an authorization server issues without asking it about each one.

On authlib's `JWTBearerTokenValidator`, in the spec's decorator style::

    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(
        JWTBearerTokenValidator(
            issuer="https://auth.example.com",
            resource_server="https://api.example.com",
            jwks_uri="https://auth.example.com/oauth/jwks",
        )
    )

    @require_oauth("read")
    def orders(request): ...   # request.oauth_token: the verified claims

Refused (401 `invalid_token`): a `typ` other than `at+jwt`, an `alg` outside the allow-list
(never `none`, never HMAC: the keys are public), an unknown `kid` (after one refetch of the JWKS),
a bad signature, another `iss`, an `aud` without this resource, an expired or not yet valid token,
a missing `sub`, `client_id`, `iat` or `jti`. The JWKS is cached for its `Cache-Control: max-age`
(`RemoteKeySet`) and fetched again early only for an unknown `kid`, at most once per
`min_refetch_interval`.

Revocation does not reach an offline validator: a revoked token is accepted until its `exp`.
Keep lifetimes short, or override `token_revoked` to ask the server's introspection endpoint
(RFC 7662), which answers from its database.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6750 import BearerTokenValidator as _RFC6750Validator
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator as _AuthlibJWTValidator
from authlib.oauth2.rfc9068.claims import JWTAccessTokenClaims
from django.core.exceptions import ImproperlyConfigured
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from .digits import decimal_value
from .jwt_access_tokens import ACCESS_TOKEN_TYP
from .resource_protector import BearerTokenValidator

__all__ = ["JWTBearerTokenValidator", "RemoteKeySet", "fetch_jwks"]

# Asymmetric JWS algorithms a validator may allow; `none` and HS* can never be configured.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "ES256")
_PUBLIC_KEY_TYPES = (RSAKey, ECKey, OKPKey)
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")
MAX_JWKS_BYTES = 65536
# RFC 9111 §1.2.2: a delta-seconds a cache cannot represent is taken as 2**31.
MAX_DELTA_SECONDS = 2**31
ACCESS_TOKEN_TYPES = (ACCESS_TOKEN_TYP, "application/" + ACCESS_TOKEN_TYP)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError for the 3xx


_OPENER = urllib.request.build_opener(_RefuseRedirects)
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def fetch_jwks(uri: str, timeout: float = 5.0) -> tuple[dict, int | None]:
    """GET a JWK Set: (document, the response's max-age or None). https only (plain http to a
    loopback host only), at most 64 KiB, redirects refused (the configured URI is the one)."""
    parts = urlsplit(uri)
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)):
        raise ValueError("The JWKS URI must be https.")
    request = urllib.request.Request(uri, headers={"Accept": "application/json"})  # noqa: S310 (checked above)
    with _OPENER.open(request, timeout=timeout) as response:
        body = response.read(MAX_JWKS_BYTES + 1)
        cache_control = response.headers.get("Cache-Control", "")
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("The JWK Set is too large.")
    return json.loads(body), _max_age(cache_control)


def _max_age(cache_control: str) -> int | None:
    """The response's max-age in seconds, or None. RFC 9111 §1.2.2: ASCII digits (not "²",
    which str.isdigit() takes and int() refuses, nor "٣", which int() reads as 3), and a value
    larger than a cache can represent is 2**31 (RemoteKeySet caps it at max_max_age)."""
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age":
            seconds = decimal_value(value.strip(), ceiling=MAX_DELTA_SECONDS)
            if seconds is not None:
                return seconds
    return None


class RemoteKeySet:
    """A JWKS fetched from `uri` and kept for its max-age (`default_max_age` without one, at most
    `max_max_age`). An unknown kid fetches it again, at most once per `min_refetch_interval`
    seconds, so tokens with made-up kids cannot turn into a flood of requests. A failed fetch
    keeps the keys it had. `fetch(uri) -> (document, max_age)` replaces the HTTP GET."""

    def __init__(
        self,
        uri: str,
        *,
        fetch: Callable[[str], tuple[dict, int | None]] | None = None,
        default_max_age: int = 300,
        max_max_age: int = 86400,
        min_refetch_interval: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uri = uri
        self.fetch = fetch or fetch_jwks
        self.default_max_age = default_max_age
        self.max_max_age = max_max_age
        self.min_refetch_interval = min_refetch_interval
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, Any] = {}
        self._fresh_until = float("-inf")
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def key_for(self, kid: str) -> Any:
        """The public key named `kid`, or None."""
        with self._lock:
            now = self.clock()
            if now >= self._fresh_until and now - self._fetched_at >= 1:
                self._refresh(now)
            key = self._keys.get(kid)
            if key is None and now - self._fetched_at >= self.min_refetch_interval:
                # A new key the server published since our copy (a rotation): fetch once more.
                self._refresh(now)
                key = self._keys.get(kid)
            return key

    def key_set(self) -> KeySet:
        """The keys held now, as a joserfc KeySet."""
        with self._lock:
            return KeySet(list(self._keys.values()))

    def _refresh(self, now: float) -> None:
        self._fetched_at = now
        self.fetches += 1
        try:
            document, max_age = self.fetch(self.uri)
            keys = public_keys(document)
        except Exception:  # network, JSON, bad keys: keep what we had, retry after the interval
            self._fresh_until = now + self.min_refetch_interval
            return
        self._keys = keys
        max_age = self.default_max_age if max_age is None else max_age
        self._fresh_until = now + min(max(max_age, 0), self.max_max_age)


def public_keys(document: Any) -> dict[str, Any]:
    """kid -> joserfc public key for each signing key of a JWK Set; keys with a private part, no
    kid or another `use` are left out."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("Not a JWK Set.")
    keys = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if any(member in jwk for member in _PRIVATE_MEMBERS) or jwk.get("use", "sig") != "sig":
            continue
        try:
            key = KeySet.import_key_set({"keys": [jwk]}).keys[0]
        except (JoseError, ValueError, TypeError):
            continue
        if isinstance(key, _PUBLIC_KEY_TYPES):
            keys[jwk["kid"]] = key
    return keys


class _StaticKeySet:
    """A JWKS given as a dict (parsed once), or a callable returning one (read on every call)."""

    def __init__(self, jwks: dict | Callable[[], dict]) -> None:
        self.jwks = jwks
        self._keys = None if callable(jwks) else public_keys(jwks)

    def _current(self) -> dict[str, Any]:
        return self._keys if self._keys is not None else public_keys(self.jwks())

    def key_for(self, kid: str) -> Any:
        return self._current().get(kid)

    def key_set(self) -> KeySet:
        return KeySet(list(self._current().values()))


def _refuse(description: str, validator: BearerTokenValidator) -> InvalidTokenError:
    return InvalidTokenError(description, realm=validator.realm, extra_attributes=validator.extra_attributes)


class JWTBearerTokenValidator(BearerTokenValidator, _AuthlibJWTValidator):
    """RFC 9068 §4 for a resource server: the token's signature against the issuer's JWKS, then
    `typ`, `alg`, `iss`, `aud`, `exp`, `nbf`, `iat` and the required claims. Accepted tokens are
    the claims (`JWTAccessTokenClaims`, a dict); the scopes are the `scope` claim's.

    `issuer`: the exact `iss`; `resource_server`: this resource's identifier, which `aud` must
    hold; keys from `jwks_uri` (cached, `RemoteKeySet`), or `jwks` (a dict, or a callable
    returning one), or `key_set` (anything with `key_for(kid)`); `algorithms`: the allow-list
    (asymmetric only); `leeway`: seconds of clock skew allowed on exp/nbf/iat.
    """

    def __init__(
        self,
        issuer: str,
        resource_server: str,
        *,
        jwks_uri: str | None = None,
        jwks: dict | Callable[[], dict] | None = None,
        key_set: Any = None,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: int = 0,
        realm: str | None = None,
        **extra_attributes: Any,
    ) -> None:
        # authlib's __init__ (the base of both parents) with the realm; ours would pass it on to
        # authlib's JWT validator, next in the MRO, as its issuer.
        _RFC6750Validator.__init__(self, realm, **extra_attributes)
        self.token_model = None
        self.issuer = issuer
        self.resource_server = resource_server
        self.algorithms = tuple(algorithms)
        unsafe = [alg for alg in self.algorithms if alg not in ASYMMETRIC_ALGORITHMS]
        if unsafe or not self.algorithms:
            raise ImproperlyConfigured(
                f"JWT access tokens are verified with public keys: {', '.join(unsafe) or 'no algorithm'} "
                f"cannot be allowed (use {', '.join(DEFAULT_ALGORITHMS)})."
            )
        if not issuer or not resource_server:
            raise ImproperlyConfigured("JWTBearerTokenValidator needs an issuer and a resource_server.")
        sources = [source for source in (jwks_uri, jwks, key_set) if source is not None]
        if len(sources) != 1:
            raise ImproperlyConfigured("Give JWTBearerTokenValidator one of jwks_uri, jwks or key_set.")
        if jwks_uri is not None:
            key_set = RemoteKeySet(jwks_uri)
        elif jwks is not None:
            key_set = _StaticKeySet(jwks)
        self.keys = key_set
        self.leeway = leeway

    def get_jwks(self) -> KeySet:
        """authlib's hook: the keys held now."""
        return self.keys.key_set()

    def authenticate_token(self, token_string: str) -> JWTAccessTokenClaims:
        """The verified claims; raises InvalidTokenError saying what was wrong."""
        try:
            header = jws.extract_compact(token_string.encode("ascii")).headers()
        except (JoseError, ValueError, TypeError, UnicodeError):
            raise _refuse("The access token is not a JWT.", self) from None
        alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
        if alg not in self.algorithms:
            raise _refuse("The access token is signed with an algorithm this resource does not accept.", self)
        # §4 (2): typ must say this is an access token, so an ID token (typ JWT) is refused.
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            raise _refuse("The token is not a JWT access token (typ).", self)
        key = self.keys.key_for(kid) if isinstance(kid, str) else None
        if key is None or not isinstance(key, _PUBLIC_KEY_TYPES):
            raise _refuse("The access token is signed by a key the issuer does not publish.", self)
        if key.get("alg") not in (None, alg):
            raise _refuse("The access token's alg does not match its key.", self)
        try:
            token = jwt.decode(token_string, key, algorithms=[alg])
        except (JoseError, ValueError, TypeError):
            raise _refuse("The access token's signature is not valid.", self) from None
        claims = JWTAccessTokenClaims(token.claims, token.header, self.claims_options())
        try:
            claims.validate(leeway=self.leeway)
        except ExpiredTokenError:
            raise _refuse("The access token expired.", self) from None
        except JoseError:
            raise _refuse("The access token is not valid for this resource.", self) from None
        return claims

    def claims_options(self) -> dict:
        """§4's claim rules for joserfc's registry: iss exact, aud holding this resource."""
        return {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.resource_server},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "sub": {"essential": True},
            "client_id": {"essential": True},
            "jti": {"essential": True},
        }

    def token_expired(self, token: JWTAccessTokenClaims) -> bool:
        return token["exp"] <= time.time() - self.leeway

    def token_revoked(self, token: JWTAccessTokenClaims) -> bool:
        """False: an offline validator cannot know. Override to ask introspection (RFC 7662)."""
        return False

    def get_token_scopes(self, token: JWTAccessTokenClaims) -> list[str]:
        scope = token.get("scope")
        return scope.split() if isinstance(scope, str) else []

    def validate_token(self, token: Any, scopes: list[str] | None, request: Any, **_kwargs: Any) -> None:
        """Our order (state, request, scopes), not authlib's (which ignores expiry hooks)."""
        BearerTokenValidator.validate_token(self, token, scopes, request)
