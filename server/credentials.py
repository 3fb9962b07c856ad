"""Credential generation, keyed digests and constant-time verification.

Client secrets, access tokens, refresh tokens, authorization codes, device codes and registration tokens are
random values with at least 256 bits of entropy. They are stored only as HMAC-SHA256 digests
under a key derived from the settings: a fast keyed hash is the right tool, because these are
not human-chosen passwords (no dictionary to slow down), and a slow hasher would cost the token
endpoint on every request. Without the key a stolen database reveals nothing usable.
"""

import hashlib
import hmac
import json
import secrets
from functools import lru_cache

from django.conf import settings
from joserfc import jws
from joserfc.errors import JoseError

from server.conf import kept_until_changed, server_settings

# Each kind of credential carries a short, greppable prefix: it tells a leaked value's kind at a
# glance and lets secret scanners find it. It is not secret.
PREFIXES = {
    "client_secret": "ocs_",
    "access_token": "oat_",
    "refresh_token": "ort_",
    "authorization_code": "oac_",
    "registration_token": "org_",
    "initial_access_token": "oia_",
    "device_code": "odc_",
}
ENTROPY_BYTES = 32  # 256 bits
# How many characters of a credential the console may show to tell credentials apart.
DISPLAY_PREFIX_LENGTH = 12


def generate(kind: str) -> str:
    """Return a new random credential of `kind` (a key of PREFIXES), 256 bits of entropy."""
    return PREFIXES[kind] + secrets.token_urlsafe(ENTROPY_BYTES)


def generate_client_id() -> str:
    """Return a new public client identifier (not a secret; 128 bits so ids can't be guessed)."""
    while True:
        client_id = secrets.token_urlsafe(16)
        # An id that starts with "-" reads as an option on a command line.
        if client_id[0].isalnum():
            return client_id


@lru_cache(maxsize=4)
def _key(configured: str, secret_key: str) -> bytes:
    material = configured or secret_key
    # Domain-separate from every other use of SECRET_KEY.
    return hashlib.sha256(b"oauth-console credential digest v1\x00" + material.encode()).digest()


@kept_until_changed("OAUTH2_CREDENTIAL_KEY", "SECRET_KEY")
def _digest_key() -> bytes:
    return _key(server_settings.OAUTH2_CREDENTIAL_KEY, settings.SECRET_KEY)


def digest(value: str) -> str:
    """Return the keyed SHA-256 hex digest under which `value` is stored and looked up."""
    return hmac.new(_digest_key(), value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def matching_digest(value: str, candidates, now) -> str | None:
    """The digest of `candidates` ((digest, expires_at or None) pairs) that `value` matches and
    that has not expired at `now`, or None. Every candidate is compared, in constant time."""
    wanted = digest(value)
    matched = None
    for stored_digest, expires_at in candidates:
        if hmac.compare_digest(wanted, stored_digest) and (expires_at is None or expires_at > now):
            matched = stored_digest
    return matched


def display_prefix(value: str) -> str:
    """The non-secret beginning of a credential that the console shows ("oat_3fQ9…"). A JWT
    access token (RFC 9068) is shown by its `jti` ("jwt:Xq81fk2a…"): every JWT begins alike."""
    jti = _jwt_id(value)
    if jti:
        return ("jwt:" + jti)[:DISPLAY_PREFIX_LENGTH]
    return value[:DISPLAY_PREFIX_LENGTH]


def _jwt_id(value: str) -> str:
    """The `jti` of a compact JWS whose payload is a JSON object with one, else ""."""
    if value.count(".") != 2 or not value.startswith("eyJ"):
        return ""
    try:
        payload = json.loads(jws.extract_compact(value.encode()).payload)
    except (JoseError, ValueError, TypeError):
        return ""
    jti = payload.get("jti") if isinstance(payload, dict) else None
    return jti if isinstance(jti, str) else ""
