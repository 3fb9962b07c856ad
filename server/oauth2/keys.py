"""JSON Web Keys for signing (RFC 7517, 7518, 7638) on joserfc: generate, import, publish.

Model-agnostic: a server keeps its keys where it likes and hands this module the JWK
dictionaries. RS256 (RSA 2048) is what OpenID Connect requires every provider to support;
ES256 (ECDSA P-256) is the smaller, faster option. `none` is never a signing algorithm here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.jwk import ECKey, KeySet, RSAKey, import_key

__all__ = [
    "SIGNING_ALGORITHMS",
    "generate_signing_key",
    "import_private_key",
    "jwks_document",
    "key_set",
    "public_key_fingerprint",
]

# alg -> (joserfc key class, generation parameter).
_GENERATORS: dict[str, tuple[Any, Any]] = {"RS256": (RSAKey, 2048), "ES256": (ECKey, "P-256")}
SIGNING_ALGORITHMS = tuple(_GENERATORS)


def generate_signing_key(alg: str) -> tuple[str, dict, str]:
    """A new key pair for `alg`: (kid, public JWK, private JWK as JSON text).

    The kid is the RFC 7638 thumbprint of the public key: stable, unique, and it names the key
    without revealing anything. Keep the private JWK secret (encrypt it before storing it).
    """
    if alg not in _GENERATORS:
        raise ValueError(f"Unsupported signing algorithm {alg!r}: use one of {', '.join(_GENERATORS)}.")
    key_cls, parameter = _GENERATORS[alg]
    key = key_cls.generate_key(parameter, private=True)
    public = dict(key.as_dict(private=False))
    return key.thumbprint(), public, json.dumps(key.as_dict(private=True))


@lru_cache(maxsize=32)
def import_private_key(kid: str, private_jwk_json: str) -> Any:
    """The joserfc key for a private JWK (kept per kid: parsing an RSA key costs more than
    signing with it)."""
    return import_key(json.loads(private_jwk_json))


def jwks_document(published: Iterable[dict]) -> dict:
    """The JWK Set (RFC 7517 §5) of the given public JWKs; refuses one with a private part."""
    keys = []
    for jwk in published:
        if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ValueError("A private key must never be published.")
        keys.append(dict(jwk))
    return {"keys": keys}


def key_set(published: Iterable[dict]) -> KeySet:
    """The published public keys as a joserfc KeySet, to verify what this server signed."""
    return KeySet.import_key_set(jwks_document(published))


def public_key_fingerprint(public_jwk: dict) -> str:
    """SHA-256 of the public key's DER SubjectPublicKeyInfo, as colon-separated hex: what
    `openssl pkey -pubin -outform DER | sha256sum` prints for the key's PEM. Refuses a private key."""
    if any(name in public_jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise ValueError("Fingerprint a public key only.")
    der = import_key(dict(public_jwk)).public_key.public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
