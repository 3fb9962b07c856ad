"""JWT access tokens (RFC 9068 §2): issue them, on authlib's `JWTBearerTokenGenerator`.

Register the generator as a server's token generator, or call `create` from an access-token
generator that picks a format per token::

    tokens = JWTAccessTokenGenerator(issuer="https://auth.example.com", signing_key=signing_key)
    server.register_token_generator("default", tokens)

The header is exactly `{"typ": "at+jwt", "alg": ..., "kid": ...}` (§2.1); the claims are
`iss`, `sub` (the user's subject, or the client_id when no user is involved, §2.2), `aud`, `exp`,
`iat`, `jti`, `client_id` and `scope` (when not empty). `signing_key(alg) -> (kid, private
key)` supplies the key, as for ID tokens (`id_tokens`); `none` and symmetric algorithms are
never used. Validating them: `jwt_validation.JWTBearerTokenValidator`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jwt

from .keys import SIGNING_ALGORITHMS

__all__ = ["ACCESS_TOKEN_TYP", "JWTAccessTokenGenerator"]

# RFC 9068 §2.1: "at+jwt" (the media type application/at+jwt without its prefix).
ACCESS_TOKEN_TYP = "at+jwt"
# Claims the generator sets; `get_extra_claims` cannot replace them.
PROTOCOL_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"})


def _default_subject(user: Any, client: Any) -> str:
    return str(getattr(user, "pk", None) or user.get_user_id())


class JWTAccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 access tokens signed with the server's managed keys.

    `issuer`: the `iss` (a string, or a callable returning it); `signing_key(alg) -> (kid, key)`;
    `subject(user, client) -> str` (default: the user's primary key); `alg`: RS256 or ES256;
    `expires_generator`: as authlib's (seconds, or `(client, grant_type) -> seconds`).
    """

    def __init__(
        self,
        *,
        issuer: str | Callable[[], str],
        signing_key: Callable[[str], tuple[str, Any]],
        subject: Callable[[Any, Any], str] | None = None,
        alg: str = "RS256",
        refresh_token_generator: Callable[..., str] | None = None,
        expires_generator: Any = None,
    ) -> None:
        if alg not in SIGNING_ALGORITHMS:
            allowed = ", ".join(SIGNING_ALGORITHMS)
            raise ValueError(f"JWT access tokens are signed with {allowed}, not {alg!r}.")
        super().__init__(
            issuer,
            alg=alg,
            refresh_token_generator=refresh_token_generator,
            expires_generator=expires_generator,
        )
        self.signing_key = signing_key
        self.subject = subject or _default_subject

    def get_issuer(self) -> str:
        """The `iss` of the next token."""
        return self.issuer() if callable(self.issuer) else self.issuer

    def get_jti(self, client: Any, grant_type: str, user: Any, scope: str) -> str:
        """128 random bits: unique per token, and not a credential (resource servers log it)."""
        return secrets.token_urlsafe(16)

    def access_token_generator(self, client: Any, grant_type: str, user: Any, scope: str) -> str:
        """authlib's hook: a token for the default audience (`get_audiences`)."""
        return self.create(client=client, grant_type=grant_type, user=user, scope=scope)

    def create(
        self,
        *,
        client: Any,
        grant_type: str,
        user: Any = None,
        scope: str = "",
        audiences: Iterable[str] | None = None,
        expires_in: int | None = None,
    ) -> str:
        """The signed access token. `audiences`: its `aud` (RFC 8707 resources; default
        `get_audiences`); `expires_in`: seconds (default: the generator's lifetime)."""
        now = int(time.time())
        lifetime = expires_in if expires_in is not None else self._get_expires_in(client, grant_type)
        audience: Any = list(audiences) if audiences is not None else self.get_audiences(client, user, scope)
        if isinstance(audience, list) and len(audience) == 1:
            audience = audience[0]
        client_id = client.get_client_id()
        claims = {
            key: value
            for key, value in self.get_extra_claims(client, grant_type, user, scope).items()
            if key not in PROTOCOL_CLAIMS
        }
        claims.update(
            iss=self.get_issuer(),
            # §2.2: the resource owner's subject; with no resource owner (client credentials),
            # an identifier of the client.
            sub=self.subject(user, client) if user is not None else client_id,
            aud=audience,
            exp=now + int(lifetime),
            iat=now,
            jti=self.get_jti(client, grant_type, user, scope),
            client_id=client_id,
        )
        if scope:
            claims["scope"] = scope
        kid, key = self.signing_key(self.alg)
        header = {"typ": ACCESS_TOKEN_TYP, "alg": self.alg, "kid": kid}
        return jwt.encode(header, claims, key, algorithms=[self.alg])
