"""A device's poll (RFC 8628 §3.4) in one statement: the device authorization by its code's
digest, with its client (and that client's unexpired secret digests, for the secret check) and
the user who approved, so that a waiting device's poll costs one indexed SELECT: the client's
authentication reads the client loaded here (`preloaded_client`) instead of its own query.

Built from the models' metadata once per vendor, as `server.hotpath.sql`'s statements are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from django.db import connection
from django.utils import timezone

from server.hotpath.prepared import cursor as _cursor
from server.hotpath.prepared import database
from server.hotpath.sql import Selection, _converters, _selections, secret_columns, unexpired_secrets
from server.models import Client, ClientSecret, DeviceAuthorization


@cache
def _device_selection(vendor: str) -> Selection:
    del vendor  # the cache key
    return Selection(DeviceAuthorization, "d")


@cache
def _device_sql(vendor: str) -> str:
    s = _selections(vendor)
    device, client, user = _device_selection(vendor), s["client"], s["user"]
    q = connection.ops.quote_name
    return (
        f"SELECT {device.columns}, {client.columns}, {user.columns}, {secret_columns(vendor)} "  # noqa: S608
        f"FROM {device.table} d INNER JOIN {client.table} c ON c.id = d.{q('client_id')} "
        f"LEFT JOIN {user.table} u ON u.{q(user.model._meta.pk.column)} = d.{q('user_id')} "
        f"{unexpired_secrets(vendor)} "
        f"WHERE d.{q('device_code_digest')} = %s"
    )


_RELATED = {name: DeviceAuthorization._meta.get_field(name) for name in ("client", "user")}


def device_by_digest(digest: str) -> DeviceAuthorization | None:
    """The device authorization whose device code has this digest, with its client (carrying
    `loaded_secrets`, as `sql.active_client` loads them) and user; None if there is none."""
    db = database()
    vendor = db.vendor
    s = _selections(vendor)
    device_sel, client_sel, user_sel = _device_selection(vendor), s["client"], s["user"]
    expires_field = ClientSecret._meta.get_field("expires_at")
    with _cursor(db) as cursor:
        cursor.execute(_device_sql(vendor), [expires_field.get_db_prep_value(timezone.now(), db), digest])
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    at_client = len(device_sel)
    at_user = at_client + len(client_sel)
    at_secret = at_user + len(user_sel)
    device = device_sel.build(first[:at_client], db)
    client = client_sel.build(first[at_client:at_user], db)
    user = user_sel.build(first[at_user:at_secret], db) if device.user_id is not None else None
    secrets = []
    for row in rows:
        secret_digest, expires_at = row[at_secret], row[at_secret + 1]
        if secret_digest is None:
            continue
        for convert in _converters(vendor, expires_field, "s"):
            expires_at = convert(expires_at, None, db)
        secrets.append((secret_digest, expires_at))
    client.loaded_secrets = secrets
    _RELATED["client"].set_cached_value(device, client)
    _RELATED["user"].set_cached_value(device, user)
    return device


# The client a device's poll loaded with its device authorization, for the client lookup of
# that request's authentication (`server.bindings.authorization_server.query_client`).
_preloaded: ContextVar[Client | None] = ContextVar("preloaded_client", default=None)


@contextmanager
def preloading(client: Client | None) -> Iterator[None]:
    """Within: `preloaded_client(client.client_id)` is `client` (when it is active)."""
    reset = _preloaded.set(client if client is not None and client.is_active else None)
    try:
        yield
    finally:
        _preloaded.reset(reset)


def preloaded_client(client_id: str) -> Client | None:
    """The active client loaded ahead for this request, if it has this client_id."""
    client = _preloaded.get()
    return client if client is not None and client.client_id == client_id else None
