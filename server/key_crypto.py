"""Secrets the server must read back, encrypted at rest: AES-256-GCM under a key from the settings.

Signing keys' private halves, and (`seal`/`unseal`) other secrets that are used, not only
compared: a webhook subscription's signing secret. Each purpose has its own key: SHA-256 of a
domain label and OAUTH2_KEY_ENCRYPTION_KEY (else OAUTH2_CREDENTIAL_KEY, else SECRET_KEY), so it
is never the same bytes as the credential digests' key nor another purpose's. The row's identity
(a kid, a secret's id) is the associated data: a ciphertext copied onto another row does not decrypt.
"""

import hashlib
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from server.conf import server_settings

_VERSION = "v1."


class KeyDecryptionError(Exception):
    """A stored private key cannot be decrypted (the encryption key changed, or the row was altered)."""


_SIGNING_KEYS = "signing key"


@lru_cache(maxsize=8)
def _aead(purpose: str, configured: str, credential_key: str, secret_key: str) -> AESGCM:
    material = configured or credential_key or secret_key
    key = hashlib.sha256(f"oauth-console {purpose} encryption v1\x00".encode() + material.encode()).digest()
    return AESGCM(key)


def _current(purpose: str = _SIGNING_KEYS) -> AESGCM:
    return _aead(
        purpose,
        server_settings.OAUTH2_KEY_ENCRYPTION_KEY,
        server_settings.OAUTH2_CREDENTIAL_KEY,
        settings.SECRET_KEY,
    )


def seal(purpose: str, associated: str, plain: str) -> str:
    """`plain` encrypted for `purpose` (e.g. "webhook secret"), bound to `associated` (the row)."""
    nonce = os.urandom(12)
    return _VERSION + (nonce + _current(purpose).encrypt(nonce, plain.encode(), associated.encode())).hex()


def unseal(purpose: str, associated: str, stored: str) -> str:
    """The plain text `seal` encrypted; raises KeyDecryptionError."""
    try:
        if not stored.startswith(_VERSION):
            raise ValueError("unknown storage format")
        raw = bytes.fromhex(stored[len(_VERSION) :])
        return _current(purpose).decrypt(raw[:12], raw[12:], associated.encode()).decode()
    except Exception as exc:
        raise KeyDecryptionError(
            f"A {purpose} cannot be decrypted: was OAUTH2_KEY_ENCRYPTION_KEY (or the key it is "
            "derived from) changed?"
        ) from exc


def encrypt_private_key(kid: str, private_jwk_json: str) -> str:
    """The text stored for a private key: version, random 96-bit nonce, ciphertext and tag."""
    nonce = os.urandom(12)
    sealed = _current().encrypt(nonce, private_jwk_json.encode(), kid.encode())
    return _VERSION + (nonce + sealed).hex()


def decrypt_private_key(kid: str, stored: str) -> str:
    """The private JWK (JSON text) of `stored`; raises KeyDecryptionError."""
    if not stored.startswith(_VERSION):
        raise KeyDecryptionError(f"Signing key {kid}: unknown storage format.")
    try:
        raw = bytes.fromhex(stored[len(_VERSION) :])
        return _current().decrypt(raw[:12], raw[12:], kid.encode()).decode()
    except Exception as exc:
        raise KeyDecryptionError(
            f"Signing key {kid} cannot be decrypted: was OAUTH2_KEY_ENCRYPTION_KEY (or the key it "
            "is derived from) changed? Rotate the signing keys."
        ) from exc
