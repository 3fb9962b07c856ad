"""`private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9).

The client signs a short-lived JWT with its private key and sends it as `client_assertion`
(with `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`); the
server verifies it with the client's registered public keys. Built on authlib's
`JWTBearerClientAssertion` (its assertion parsing and its place in authlib's client
authentication registry), with stricter checks and errors a developer can act on:

- `alg` from an allow-list (RS256, PS256, ES256): never `none`, never an HMAC algorithm (a
  client_secret_jwt assertion needs the secret in clear, which this server does not keep);
- the key chosen by `kid` (or the only key that fits `alg`), public keys only; when none fits,
  `refetch_jwks(client)` may fetch the client's keys again once (a key rotated in before the
  cached copy expired) before the assertion is refused;
- the client's own `token_endpoint_auth_signing_alg`, when it registered one;
- `iss` = `sub` = the client, `aud` one of the server's audiences (token endpoint, issuer),
  `exp` required and at most `max_lifetime` seconds ahead, `nbf`/`iat` not in the future;
- `jti` required and used once: `use_jti(client_id, jti, seconds)` remembers it for the
  assertion's remaining lifetime and returns False for a replay.

Register it on the server: `server.register_client_auth_method("private_key_jwt",
PrivateKeyJWT(client_jwks=..., use_jti=..., audiences=...))`. A client model says whether it
may use the method with `check_endpoint_auth_method("private_key_jwt", endpoint)`.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7523.client import ASSERTION_TYPE
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError, SecurityWarning
from joserfc.jwk import import_key

from .bodies import has_control_characters
from .errors import clean_error_text

__all__ = [
    "ASSERTION_ALGORITHMS",
    "ASSERTION_TYPE",
    "ClientKeysUnavailable",
    "PrivateKeyJWT",
    "check_public_jwks",
    "unverified_subject",
]

# RFC 7518 §3.1 asymmetric algorithms we verify (FAPI 2 allows PS256 and ES256; RS256 is what
# most client libraries default to). HS* (client_secret_jwt) and none are refused.
ASSERTION_ALGORITHMS = ("RS256", "PS256", "ES256")
MAX_ASSERTION_LENGTH = 8192
MAX_JTI_LENGTH = 255
MAX_KEYS = 10
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
# Members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4).
PRIVATE_KEY_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}


class ClientKeysUnavailable(Exception):
    """The client's keys cannot be had (its jwks_uri failed, say); the message says why."""


def check_public_jwks(jwks: Any) -> dict:
    """Return `jwks` if it is a JWK Set of public signing keys this server can use; else raise
    ValueError with a message for the developer: an object with a `keys` array of 1 to MAX_KEYS
    RSA (2048 bits or more) or EC P-256 keys, no private members, distinct `kid`s."""
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
        raise ValueError("The JWK Set must be a JSON object with a 'keys' array.")
    keys = jwks["keys"]
    if not 1 <= len(keys) <= MAX_KEYS:
        raise ValueError(f"The JWK Set must hold 1 to {MAX_KEYS} keys.")
    kids = []
    for index, data in enumerate(keys):
        if not isinstance(data, Mapping):
            raise ValueError(f"Key {index} of the JWK Set is not a JSON object.")
        name = f"Key {data.get('kid')!r}" if isinstance(data.get("kid"), str) else f"Key {index}"
        private = sorted(PRIVATE_KEY_MEMBERS & set(data))
        if private:
            raise ValueError(
                f"{name} holds private key members ({', '.join(private)}): register only the public "
                "key, never the private one (and replace that key now: it has been disclosed)."
            )
        if data.get("kty") not in ("RSA", "EC"):
            raise ValueError(f"{name}: kty must be RSA or EC (a symmetric key is a shared secret).")
        if data.get("use") not in (None, "sig"):
            raise ValueError(f"{name}: use must be sig.")
        if data.get("alg") not in (None, *ASSERTION_ALGORITHMS):
            raise ValueError(f"{name}: alg must be one of {', '.join(ASSERTION_ALGORITHMS)}.")
        try:
            with warnings.catch_warnings():
                # joserfc warns about small RSA keys; the size is refused just below, with a message.
                warnings.simplefilter("ignore", SecurityWarning)
                key = import_key(dict(data))
        except (JoseError, ValueError, TypeError, KeyError):
            raise ValueError(f"{name} is not a valid {data.get('kty')} public key.") from None
        if data["kty"] == "RSA" and not MIN_RSA_BITS <= key.raw_value.key_size <= MAX_RSA_BITS:
            raise ValueError(f"{name}: an RSA key has {MIN_RSA_BITS} to {MAX_RSA_BITS} bits.")
        if data["kty"] == "EC" and data.get("crv") != "P-256":
            raise ValueError(f"{name}: an EC key must be on the P-256 curve (ES256).")
        kid = data.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid or has_control_characters(kid)):
            raise ValueError(f"Key {index}: kid must be a non-empty string.")
        kids.append(kid)
    named = [kid for kid in kids if kid is not None]
    if len(set(named)) != len(named):
        raise ValueError("Two keys of the JWK Set have the same kid.")
    return {"keys": [dict(data) for data in keys]}


@lru_cache(maxsize=256)
def _usable_keys(jwks_text: str) -> tuple[tuple[dict, Any], ...]:
    """(JWK, imported key) of each key of a JWK Set (its JSON text), checked by
    `check_public_jwks`; kept, so a client's keys are not checked and imported on every request."""
    jwks = check_public_jwks(json.loads(jwks_text))
    return tuple((data, import_key(data)) for data in jwks["keys"])


def _refused(description: str) -> InvalidClientError:
    """invalid_client saying why; whatever it quotes reduced to RFC 6749 §5.2's characters."""
    return InvalidClientError(description=clean_error_text(description, limit=400))


def _number(claims: Mapping, name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _refused(f"The assertion's {name} must be a number (seconds since 1970).")
    return value


class PrivateKeyJWT(JWTBearerClientAssertion):
    """Authenticate a client by a JWT signed with its private key (`private_key_jwt`).

    `client_jwks(client) -> dict`: the client's public JWK Set (raise ClientKeysUnavailable
    when it cannot be had); `use_jti(client_id, jti, seconds) -> bool`: remember a jti, False
    when it was seen before; `audiences(request) -> list[str]`: the `aud` values accepted (the
    token endpoint URL and the issuer, RFC 7523 §3 and OpenID Connect Core §9);
    `max_lifetime`: how far ahead `exp` may be; `leeway`: clock skew allowed, in seconds;
    `refetch_jwks(client) -> dict | None`: the client's keys read afresh when none of the
    cached ones fits (None: not now, e.g. the client's refetch was too recent).
    """

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(
        self,
        *,
        client_jwks: Callable[[Any], Any],
        use_jti: Callable[[str, str, int], bool],
        audiences: Callable[[Any], list[str]],
        max_lifetime: int | Callable[[], int] = 300,
        leeway: int = 30,
        algorithms: tuple[str, ...] = ASSERTION_ALGORITHMS,
        refetch_jwks: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(validate_jti=True, leeway=leeway)
        self._client_jwks = client_jwks
        self._use_jti = use_jti
        self._audiences = audiences
        self._max_lifetime = max_lifetime
        self.algorithms = tuple(a for a in algorithms if a in ASSERTION_ALGORITHMS)
        self._refetch_jwks = refetch_jwks

    @property
    def max_lifetime(self) -> int:
        value = self._max_lifetime
        return int(value() if callable(value) else value)

    def __call__(self, query_client: Callable[[str], Any], request: Any) -> Any:
        """The authenticated client, None when the request carries no assertion; raises
        InvalidClientError (saying why) for an assertion that does not authenticate."""
        data = request.form
        assertion_type = data.get("client_assertion_type")
        assertion = data.get("client_assertion")
        if assertion_type is None and assertion is None:
            return None
        if assertion_type != ASSERTION_TYPE:
            raise _refused(f"client_assertion_type must be {ASSERTION_TYPE}.")
        if not assertion:
            raise _refused("The client_assertion parameter is missing.")
        if len(assertion) > MAX_ASSERTION_LENGTH:
            raise _refused(f"The client_assertion is over {MAX_ASSERTION_LENGTH} characters.")
        header, claims = self.extract_assertion(assertion)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise _refused(
                f"The client_assertion is signed with alg {str(alg)[:16]!r}; this server accepts "
                f"private_key_jwt signed with {', '.join(self.algorithms)} (never none, never HMAC)."
            )
        client_id = claims.get("sub")
        if not isinstance(client_id, str) or not client_id:
            raise _refused("The client_assertion's sub must be the client_id.")
        body_client_id = request.payload.client_id
        if body_client_id is not None and body_client_id != client_id:
            raise _refused("The client_id parameter is not the client_assertion's sub.")
        client = query_client(client_id)
        if not client:
            raise _refused("The client does not exist on this server.")
        if not client.check_endpoint_auth_method(self.CLIENT_AUTH_METHOD, "token"):
            raise _refused("This client is not registered for private_key_jwt authentication.")
        pinned = getattr(client, "token_endpoint_auth_signing_alg", "") or ""
        if pinned and alg != pinned:
            raise _refused(
                f"This client registered token_endpoint_auth_signing_alg {pinned}; the "
                f"client_assertion is signed with {alg}."
            )
        request.client = client
        key = self.select_key(client, header, alg)
        try:
            token = jwt.decode(assertion, key, algorithms=[alg])
        except BadSignatureError:
            raise _refused(
                "The client_assertion's signature does not verify with the client's registered key."
            ) from None
        except JoseError:
            raise _refused("The client_assertion cannot be verified.") from None
        self.check_claims(token.claims, client_id, self._audiences(request))
        return client

    def select_key(self, client: Any, header: Mapping, alg: str) -> Any:
        """The client's public key that signed the assertion: the one its header's `kid` names,
        or, without a kid, the only key that fits `alg`."""
        kid = header.get("kid")
        candidates = self._candidates(self._client_jwks, client, alg, kid)
        if not candidates and self._refetch_jwks is not None:
            # Perhaps a key the client rotated in since its jwks_uri was cached: read it again.
            candidates = self._candidates(self._refetch_jwks, client, alg, kid)
        if not candidates:
            named = f" with kid {str(kid)[:64]!r}" if kid is not None else ""
            raise _refused(f"The client has no {alg} key{named} registered (its jwks or jwks_uri).")
        if len(candidates) > 1:
            raise _refused(
                f"The client has several {alg} keys: name the signing key with kid in the assertion's header."
            )
        return candidates[0]

    @staticmethod
    def _candidates(source: Callable[[Any], Any], client: Any, alg: str, kid: Any) -> list:
        """The client's keys from `source` (None from it: none) that fit `alg` and `kid`."""
        try:
            jwks = source(client)
            if jwks is None:
                return []
            keys = _usable_keys(json.dumps(jwks, sort_keys=True))
        except ClientKeysUnavailable as exc:
            raise _refused(f"The client's keys could not be read: {exc}") from None
        except (ValueError, TypeError) as exc:
            raise _refused(f"The client's JWK Set is refused: {exc}") from None
        return [
            key
            for data, key in keys
            if data["kty"] == _KEY_TYPES[alg]
            and data.get("alg") in (None, alg)
            and (kid is None or data.get("kid") == kid)
        ]

    def check_claims(self, claims: Mapping, client_id: str, audiences: list[str]) -> None:
        """RFC 7523 §3 and OpenID Connect Core §9; the jti is used up last, once all else passed."""
        now = time.time()
        if claims.get("iss") != client_id:
            raise _refused("The client_assertion's iss and sub must both be the client_id.")
        aud = claims.get("aud")
        values = aud if isinstance(aud, list) else [aud]
        if not any(isinstance(v, str) and v in audiences for v in values):
            raise _refused(
                f"The client_assertion's aud must be this server's token endpoint URL or issuer: "
                f"{' or '.join(audiences)}."
            )
        exp = _number(claims, "exp")
        if exp is None:
            raise _refused("The client_assertion has no exp.")
        if exp <= now - self.leeway:
            raise _refused("The client_assertion has expired (exp); sign a new one.")
        if exp > now + self.max_lifetime + self.leeway:
            raise _refused(
                f"The client_assertion's exp is more than {self.max_lifetime} seconds ahead; "
                "make assertions short-lived."
            )
        nbf = _number(claims, "nbf")
        if nbf is not None and nbf > now + self.leeway:
            raise _refused("The client_assertion is not valid yet (nbf); check the client's clock.")
        iat = _number(claims, "iat")
        if iat is not None and iat > now + self.leeway:
            raise _refused("The client_assertion was issued in the future (iat); check the client's clock.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise _refused(
                f"The client_assertion needs a jti (a unique string of at most {MAX_JTI_LENGTH} characters)."
            )
        if not self._use_jti(client_id, jti, max(1, int(exp - now + self.leeway) + 1)):
            raise _refused(
                "This client_assertion was used before (same jti); sign a new one for every request."
            )

    def extract_assertion(self, assertion: str) -> tuple[dict, dict]:
        """The unverified (header, claims) of a JWS compact assertion; a JWE or anything else is
        invalid_client."""
        if assertion.count(".") != 2:
            raise _refused("The client_assertion is not a signed JWT (three dot-separated parts).")
        return super().extract_assertion(assertion)


def unverified_subject(assertion: Any) -> str | None:
    """The `sub` of a client assertion, unverified: who the request claims to be (the rate
    limiter counts failures by it). None when it cannot be read."""
    if not isinstance(assertion, str) or len(assertion) > MAX_ASSERTION_LENGTH or assertion.count(".") != 2:
        return None
    try:
        claims = json.loads(jws.extract_compact(assertion.encode("ascii")).payload)
    except (JoseError, ValueError, TypeError, UnicodeError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) and sub and not has_control_characters(sub) else None
