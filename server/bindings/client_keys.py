"""`private_key_jwt` bound to our clients: where a client's public keys come from (its inline
`jwks`, or its `jwks_uri` fetched through the SSRF guard in `server.outbound` and cached with
the response's max-age) and the replay cache that uses up each assertion's `jti`."""

import hashlib
import logging

from django.core.cache import caches

from server import outbound
from server.conf import server_settings
from server.models import Client
from server.oauth2.client_assertion import ClientKeysUnavailable, PrivateKeyJWT
from server.oauth2.errors import InvalidClientError

logger = logging.getLogger(__name__)

_JTI_KEY = "oauth2:assertion-jti:v1:"
_REFETCH_KEY = "oauth2:jwks-refetch:v1:"
# At most one early refetch of a client's jwks_uri per this many seconds: an assertion naming an
# unknown kid costs the server an outbound request, so a stream of them must not become many.
JWKS_REFETCH_INTERVAL = 60


def client_jwks(client: Client) -> dict:
    """The client's public JWK Set: inline, or fetched from its jwks_uri (cached)."""
    if client.jwks:
        return client.jwks
    if client.jwks_uri:
        try:
            return outbound.fetch_json_cached(
                client.jwks_uri,
                max_bytes=server_settings.OAUTH2_JWKS_URI_MAX_BYTES,
                timeout=server_settings.OAUTH2_OUTBOUND_TIMEOUT,
            )
        except outbound.OutboundError as error:
            raise ClientKeysUnavailable(f"fetching its jwks_uri failed: {error}") from None
    raise ClientKeysUnavailable("it has registered neither jwks nor jwks_uri.")


def refetch_client_jwks(client: Client) -> dict | None:
    """The client's jwks_uri read again, past its cached copy (an assertion named a key the
    copy lacks); None for an inline jwks, or when this client's last refetch is too recent."""
    if client.jwks or not client.jwks_uri:
        return None
    digest = hashlib.sha256(client.client_id.encode()).hexdigest()
    if not caches["default"].add(_REFETCH_KEY + digest, 1, timeout=JWKS_REFETCH_INTERVAL):
        return None
    outbound.forget_cached(client.jwks_uri)
    return client_jwks(client)


def use_jti(client_id: str, jti: str, seconds: int) -> bool:
    """Remember the jti for `seconds` (the assertion's remaining lifetime); False when it was
    already there. One cache `add`: atomic in Redis and in the local-memory cache."""
    digest = hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()
    try:
        return bool(caches[server_settings.OAUTH2_REPLAY_CACHE].add(_JTI_KEY + digest, 1, timeout=seconds))
    except Exception as exc:  # the cache is down: refuse (an unchecked jti could be a replay)
        logger.warning("client assertion refused: the replay cache is unavailable (%s)", type(exc).__name__)
        raise InvalidClientError(
            description="The server cannot check the client_assertion for replay now; try again shortly."
        ) from None


def private_key_jwt(audiences) -> PrivateKeyJWT:
    """The private_key_jwt method for our server; `audiences(request)` lists the accepted aud."""
    return PrivateKeyJWT(
        client_jwks=client_jwks,
        use_jti=use_jti,
        audiences=audiences,
        max_lifetime=lambda: server_settings.OAUTH2_CLIENT_ASSERTION_MAX_LIFETIME,
        refetch_jwks=refetch_client_jwks,
    )
