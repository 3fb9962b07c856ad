"""`Idempotency-Key` on creates: a retried request answers as the first did, without a second write.

The key is kept per caller (the actor's label) for 24 hours with a fingerprint of the request
(method, path, canonical JSON body) and the first answer's status and body. The record is
inserted first, in the transaction that runs the create, so two requests with one key cannot
both write: the second waits on the unique index and then replays the committed answer. A
create that fails (400, 409) rolls the record back with it; the key can be used again.

A replay is marked `Idempotent-Replayed: true`. The one-time values (a new client secret, an
initial access token) are not kept: a replay has them as null (the design's "shown once"); a
caller that lost the first answer rotates the secret.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from oauth_console.api.models import IdempotencyRecord
from oauth_console.api.problems import Problem

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Answer members that hold a credential in clear: never stored.
SHOWN_ONCE = ("client_secret", "token", "signing_secret")


def _key_of(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        message = f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        raise Problem(400, "validation-error", message, errors={HEADER: [message]})
    return key


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method}\x00{request.path}\x00{body}".encode()).hexdigest()


def _without_secrets(data):
    if isinstance(data, dict):
        return {k: (None if k in SHOWN_ONCE else _without_secrets(v)) for k, v in data.items()}
    return data


def idempotent(request, caller: str, create: Callable[[], Response]) -> Response:
    """Run `create` once per (caller, Idempotency-Key); without the header, just run it."""
    key = _key_of(request)
    if key is None:
        return create()
    fingerprint = _fingerprint(request)
    now = timezone.now()
    with transaction.atomic():
        IdempotencyRecord.objects.filter(caller=caller, created_at__lte=now - KEPT_FOR).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    caller=caller, key=key, fingerprint=fingerprint, created_at=now
                )
        except IntegrityError:
            return _replay(IdempotencyRecord.objects.get(caller=caller, key=key), fingerprint)
        response = create()
        record.status_code = response.status_code
        record.response_body = _without_secrets(response.data)
        record.save(update_fields=["status_code", "response_body"])
    return response


def prune_expired(now=None) -> int:
    """Delete every caller's records older than KEPT_FOR (a create only prunes its own caller's);
    how many were deleted. `manage.py prune_idempotency_keys`, daily (docs/deployment.md)."""
    cutoff = (now or timezone.now()) - KEPT_FOR
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise Problem(
            422,
            "idempotency-key-reused",
            "This Idempotency-Key was used with another request; use a new key for a new request.",
            errors={HEADER: ["Used with another request."]},
        )
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response
