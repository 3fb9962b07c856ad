"""RFC 9068 JWT access tokens bound to our server: signed with the managed signing keys (the
ones that sign ID tokens, published at /oauth/jwks), `sub` the user's public subject identifier.

A JWT access token is recorded like an opaque one: its row holds the keyed digest of the token
as issued (which covers its `jti`), so our own bearer check, RFC 7009 revocation, RFC 7662
introspection, the console and bulk revocation find it with the same indexed lookup, and a token
whose claims or signature were altered matches no row.
"""

from collections.abc import Iterable

from server import apis
from server.bindings.oidc import signing_key
from server.claims import subject_for
from server.conf import server_settings
from server.oauth2.jwt_access_tokens import JWTAccessTokenGenerator

SIGNING_ALGORITHM = "RS256"

_generator = JWTAccessTokenGenerator(
    issuer=lambda: server_settings.OAUTH2_ISSUER,
    signing_key=signing_key,
    subject=subject_for,
    alg=SIGNING_ALGORITHM,
)


def create_jwt_access_token(
    *, client, grant_type: str, user, scope: str, lifetime: int, resources: Iterable[str] = ()
) -> str:
    """A signed JWT access token. `aud`: the RFC 8707 resources it is for, else the default
    API's identifier (issuer + /api, this server's own API, as its RFC 9728 document names it)."""
    issuer = server_settings.OAUTH2_ISSUER
    if not issuer:
        # Check server.E015 reports this at start-up; a JWT without a stable `iss` could not be
        # validated by anyone.
        raise RuntimeError("JWT access tokens need OAUTH2_ISSUER (check server.E015).")
    return _generator.create(
        client=client,
        grant_type=grant_type,
        user=user,
        scope=scope,
        audiences=list(resources) or [apis.default_identifier(None)],
        expires_in=lifetime,
    )
