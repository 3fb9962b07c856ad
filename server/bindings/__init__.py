"""`server.oauth2`'s protocol machinery bound to our hashed models.

`server.oauth2` supplies the protocol (model-agnostic, on authlib); this package supplies what
only this server knows: credentials are looked up by keyed digest (`lookups`), codes and refresh
tokens are claimed with conditional UPDATEs so parallel redemptions have one winner, a replayed
code or a reused refresh token revokes what it issued (`grants`), revocation and introspection
work on our token rows (`endpoints`), only active clients get tokens or have theirs honoured
(`bearer`), and `authorization_server` puts them together.
"""

from server.bindings.authorization_server import (
    MAX_CLIENT_ID_LENGTH,
    authorization_server,
    issuer_for,
    parameter_limits,
    query_client,
    save_token,
)
from server.bindings.bearer import TokenValidator, require_oauth
from server.bindings.endpoints import TokenIntrospection, TokenRevocation
from server.bindings.grants import AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant

__all__ = [
    "MAX_CLIENT_ID_LENGTH",
    "AuthorizationCodeGrant",
    "ClientCredentialsGrant",
    "RefreshTokenGrant",
    "TokenIntrospection",
    "TokenRevocation",
    "TokenValidator",
    "authorization_server",
    "issuer_for",
    "parameter_limits",
    "query_client",
    "require_oauth",
    "save_token",
]
