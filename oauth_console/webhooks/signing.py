"""Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature scheme").

A secret is `whsec_` and the base64 of 32 random bytes. A delivery carries three headers:
`webhook-id` (the message id, the same on every attempt and replay), `webhook-timestamp`
(seconds since the epoch, at the attempt) and `webhook-signature`: for each secret that signs,
`v1,` and the base64 of HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}"), separated by
spaces (two during a rotation's overlap; a receiver accepts either).
"""

import base64
import hashlib
import hmac
import secrets

from server import key_crypto

SECRET_PREFIX = "whsec_"
SHOWN_PREFIX_LENGTH = 10  # "whsec_" and four characters: enough to tell secrets apart
_PURPOSE = "webhook secret"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def seal(subscription_id: int, secret: str) -> str:
    """The stored form of `secret`: encrypted, bound to its subscription."""
    return key_crypto.seal(_PURPOSE, f"subscription:{subscription_id}", secret)


def unseal(subscription_id: int, stored: str) -> str:
    return key_crypto.unseal(_PURPOSE, f"subscription:{subscription_id}", stored)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed by every secret in `secrets_`."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets_),
        "Content-Type": "application/json",
    }


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(24)
