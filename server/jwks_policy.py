"""What keys a client may register for `private_key_jwt` (RFC 7523, OpenID Connect Core §9).

`server.policies.validate_client_settings` calls `checked_client_keys` (every door: services,
forms, imports, RFC 7591/7592) and turns a ClientKeyError into its PolicyError. A separate
module so that policies stays one screenful per concern; it imports nothing of policies.
"""

import ipaddress
import json
from urllib.parse import urlsplit

from server import outbound
from server.oauth2.client_assertion import check_public_jwks

PRIVATE_KEY_JWT = "private_key_jwt"
# The longest inline JWK Set stored (ten 4096-bit RSA keys fit).
MAX_JWKS_LENGTH = 16384
CLIENT_SECRET_JWT_REFUSED = (
    "client_secret_jwt is not supported: this server keeps client secrets only as keyed digests, "
    "never in a form it could compute an HMAC with, so it cannot check an HS256 assertion. Use "
    "private_key_jwt (register your public keys as jwks or jwks_uri) or client_secret_basic."
)


class ClientKeyError(ValueError):
    """A refused key setting; `field` names the setting (jwks, jwks_uri, token_endpoint_auth_method)."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


def checked_jwks(jwks) -> dict | None:
    """A client's inline JWK Set (RFC 7591 §2 `jwks`, a dict or its JSON text): public RSA or
    EC P-256 signing keys only; a private key member is refused with a message saying to replace
    the key. None for none."""
    if jwks in (None, "", {}):
        return None
    if isinstance(jwks, str):
        try:
            jwks = json.loads(jwks)
        except ValueError:
            raise ClientKeyError("jwks is not valid JSON.", field="jwks") from None
    if len(json.dumps(jwks)) > MAX_JWKS_LENGTH:
        raise ClientKeyError(f"jwks is too large (at most {MAX_JWKS_LENGTH} characters).", field="jwks")
    try:
        return check_public_jwks(jwks)
    except ValueError as error:
        raise ClientKeyError(f"jwks: {error}", field="jwks") from None


def checked_jwks_uri_host(uri: str) -> str:
    """`uri` (already an https URL by the web URI policy) unless its host is an IP address the
    outbound guard would refuse; a host name is checked on every fetch, when it resolves."""
    host = urlsplit(uri).hostname or "" if uri else ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return uri
    try:
        outbound.check_address(host)
    except outbound.OutboundError as error:
        raise ClientKeyError(f"jwks_uri: {error}", field="jwks_uri") from None
    return uri


def checked_client_keys(method: str, jwks, jwks_uri: str) -> tuple[dict | None, str]:
    """(jwks, jwks_uri) for a client authenticating with `method`: client_secret_jwt refused,
    at most one key source, and one for private_key_jwt."""
    if method == "client_secret_jwt":
        raise ClientKeyError(CLIENT_SECRET_JWT_REFUSED, field="token_endpoint_auth_method")
    jwks = checked_jwks(jwks)
    jwks_uri = checked_jwks_uri_host(jwks_uri)
    if jwks is not None and jwks_uri:
        raise ClientKeyError("Register jwks or jwks_uri, not both (RFC 7591 section 2).", field="jwks")
    if method == PRIVATE_KEY_JWT and jwks is None and not jwks_uri:
        raise ClientKeyError(
            "private_key_jwt needs the client's public keys: register jwks (the JWK Set) or jwks_uri "
            "(an https URL serving it).",
            field="jwks",
        )
    return jwks, jwks_uri
