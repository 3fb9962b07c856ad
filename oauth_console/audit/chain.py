"""Hashing for tamper evidence: the canonical form of an event and the checkpoint digests.

Both are HMAC-SHA256 under a key from the settings (AUDIT_HASH_KEY, else derived from SECRET_KEY
with a domain separator), so someone who can write to the database but does not hold the key
cannot forge a matching hash for a row they altered or inserted.
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings

from server.conf import kept_until_changed

# The fields an event's content hash covers, in no particular order (the JSON is key-sorted).
# The id is not among them: the content hash is made in the request, before the event has an
# id, and goes to the SIEM as is. `position_hash` binds that hash to the id the writer gives
# the row, so a copy of a row under another id verifies nowhere.
HASHED_FIELDS = (
    "occurred_at",
    "event_type",
    "outcome",
    "actor_kind",
    "actor_label",
    "client_id",
    "user_id",
    "username",
    "token_id",
    "token_prefix",
    "ip_address",
    "user_agent",
    "request_id",
    "detail",
)


@lru_cache(maxsize=4)
def _key(configured: str, secret_key: str) -> bytes:
    material = configured or secret_key
    # Domain-separate from the credential digests and every other use of SECRET_KEY.
    return hashlib.sha256(b"oauth-console audit chain v1\x00" + material.encode()).digest()


@kept_until_changed("AUDIT_HASH_KEY", "SECRET_KEY")
def hash_key() -> bytes:
    """The HMAC key of the audit chain (derived once per process and settings change)."""
    return _key(getattr(settings, "AUDIT_HASH_KEY", ""), settings.SECRET_KEY)


def iso_utc(value: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with microseconds (stable across databases)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# What `json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=True)` builds on every
# call (its arguments are not the defaults, so it makes a new encoder each time); an encoder
# keeps no state between calls, and the token endpoint hashes an event per request.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_content(fields: dict[str, Any]) -> str:
    """The canonical JSON of an event's hashed fields: sorted keys, UTC ISO times, no spaces."""
    content = {name: fields[name] for name in HASHED_FIELDS}
    content["occurred_at"] = iso_utc(content["occurred_at"])
    return _CANONICAL_JSON.encode(content)


def entry_hash(canonical: str) -> str:
    """HMAC of one event's canonical content."""
    return hmac.new(hash_key(), canonical.encode(), hashlib.sha256).hexdigest()


def event_hash(event) -> str:
    """Recompute the hash of a stored AuditEvent (or any object with the hashed attributes)."""
    return entry_hash(canonical_content({name: getattr(event, name) for name in HASHED_FIELDS}))


def position_hash(event_id: int, content_hash: str) -> str:
    """HMAC binding an event's content hash to its id (its position in the log)."""
    message = f"audit event position v1\x00{int(event_id)}\x00{content_hash}"
    return hmac.new(hash_key(), message.encode(), hashlib.sha256).hexdigest()


def legacy_digest(*, last_event_id: int) -> str:
    """HMAC of the legacy record: events up to `last_event_id` were written before position
    hashes existed, and are bound to their ids by checkpoints only."""
    payload = json.dumps({"kind": "legacy", "last": last_event_id}, sort_keys=True, separators=(",", ":"))
    return hmac.new(hash_key(), payload.encode(), hashlib.sha256).hexdigest()


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False  # floats, datetimes, UUIDs, tuples... go through JSON


def normalise_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """`detail` as plain JSON values, so that it hashes the same after a database round trip."""
    if _plain(detail):
        return detail  # the common case, without a JSON round trip on the request path
    return json.loads(json.dumps(detail, default=str, sort_keys=True))


def checkpoint_digest(
    *, prev_digest: str, first_event_id: int, last_event_id: int, id_ranges: list, entry_hashes: list[str]
) -> str:
    """HMAC over a sealed range: its bounds, its ids, its events' hashes and the previous digest."""
    mac = hmac.new(hash_key(), digestmod=hashlib.sha256)
    header = json.dumps(
        {"prev": prev_digest, "first": first_event_id, "last": last_event_id, "ids": id_ranges},
        sort_keys=True,
        separators=(",", ":"),
    )
    mac.update(header.encode())
    for value in entry_hashes:
        mac.update(b"\n")
        mac.update(value.encode())
    return mac.hexdigest()


def prune_digest(*, prev_digest: str, last_event_id: int, event_count: int) -> str:
    """HMAC of a prune record: where the log begins now, and which seal it continues from."""
    payload = json.dumps(
        {"kind": "prune", "prev": prev_digest, "last": last_event_id, "count": event_count},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hmac.new(hash_key(), payload.encode(), hashlib.sha256).hexdigest()


def id_ranges_of(ids: list[int]) -> list[list[int]]:
    """Compress sorted ids into [[first, last], ...] runs."""
    ranges: list[list[int]] = []
    for event_id in ids:
        if ranges and event_id == ranges[-1][1] + 1:
            ranges[-1][1] = event_id
        else:
            ranges.append([event_id, event_id])
    return ranges
