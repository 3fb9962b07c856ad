"""The token INSERT of the protocol hot path (`server.hotpath.sql` has the reads).

On PostgreSQL the statement share-locks the client row first (a CTE) and stamps `issued_at`
from the database clock after the lock: its part of the rules that order issuance against bulk
revocation, which `server.hotpath.locks` states. For a provisional client (a copy this worker
remembered, `server.hotpath.known_clients`), the same CTE confirms it: the row still at the
version it was read at (`xmin`: any UPDATE changes it) and the secret the request presented
still stored and unexpired. A statement that cannot confirm it writes nothing, and the request
is answered again from the database (`server.oauth2.provisional`); one that can sends the
client's authentication then (`client_authenticated`), and not before.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from server.hotpath import ids, riders
from server.hotpath.instances import saved_instances
from server.hotpath.params import Row
from server.hotpath.prepared import cursor as _cursor
from server.hotpath.sql import _RELATED, _converters
from server.models import Client, ClientSecret, Token
from server.oauth2.provisional import Unconfirmed

# Filled by the database on PostgreSQL (clock after the client lock); by Python on SQLite, where
# writers are serialised anyway.
_STAMPED = ("issued_at", "expires_at", "refresh_expires_at")
_ALL_TOKEN_FIELDS = Token._meta.concrete_fields
_token_from_db = saved_instances(Token, [field.attname for field in _ALL_TOKEN_FIELDS])
_INSERTED = [
    field for field in Token._meta.concrete_fields if not field.primary_key and field.attname not in _STAMPED
]
_INSERTED_ROW = Row(_INSERTED)


@cache
def _insert_token_sql(vendor: str, *, with_id: bool = False, confirming: str = "") -> str:
    """The token INSERT; `with_id`: the id is given (taken ahead, `server.hotpath.ids`), so the
    token's audit event can name it before the statement runs. `confirming` (PostgreSQL): the
    client is provisional: "row" confirms its row's version, "secret" that and the secret."""
    q = connection.ops.quote_name
    table = q(Token._meta.db_table)
    id_column = [q(Token._meta.pk.column)] if with_id else []
    names = ", ".join(
        [*id_column, *(q(f.column) for f in [*_INSERTED, *(Token._meta.get_field(n) for n in _STAMPED)])]
    )
    placeholders = ", ".join(["%s"] * (len(_INSERTED) + len(id_column)))
    returning = ", ".join(q(n) for n in ("id", *_STAMPED))
    if vendor == "postgresql":
        client_table = q(Client._meta.db_table)
        lifetime = "make_interval(secs => %s)"
        return (
            f"WITH held AS (SELECT c.id FROM {client_table} c WHERE c.id = %s{_confirmed(confirming)} "  # noqa: S608
            "FOR KEY SHARE OF c) "
            f"INSERT INTO {table} ({names}) "
            f"SELECT {placeholders}, stamp.t, stamp.t + {lifetime}, "
            f"CASE WHEN %s THEN stamp.t + {lifetime} END "
            # LATERAL on `held`: the clock is read per locked row, so after the lock is granted.
            f"FROM held CROSS JOIN LATERAL (SELECT clock_timestamp() AS t, held.id) stamp "
            f"RETURNING {returning}"
        )
    return f"INSERT INTO {table} ({names}) VALUES ({placeholders}, %s, %s, %s) RETURNING {returning}"  # noqa: S608


def _confirmed(confirming: str) -> str:
    """The conditions that confirm a provisional client, in the `held` CTE (`c`: its row)."""
    if not confirming:
        return ""
    q = connection.ops.quote_name
    row = " AND c.xmin = %s::xid"
    if confirming == "row":
        return row
    secrets, expires = q(ClientSecret._meta.db_table), q("expires_at")
    return (
        # Names from the models' metadata, quoted; values only as parameters.
        f"{row} AND EXISTS (SELECT 1 FROM {secrets} s WHERE s.{q('client_id')} = c.id "  # noqa: S608
        f"AND s.{q('digest')} = %s AND (s.{expires} IS NULL OR s.{expires} > clock_timestamp()))"
    )


class ClientGone(Exception):
    """The client was deleted while its token was being issued."""


def insert_token(
    values: dict[str, Any], *, client: Client, user, access_lifetime: int, refresh_lifetime: int | None
) -> Token:
    """INSERT one token row for `client` and `user` from `values` (attname -> value, without
    the foreign keys and timestamps) and return it as a saved instance. `refresh_lifetime`
    None: no refresh token expiry.

    Inside `riders.one_statement()` on PostgreSQL the token gets its id now and its row is
    written when the unit ends, in one statement with the rows that record it (its audit
    event); its timestamps are filled in then (`ClientGone` is raised then too)."""
    given = {**values, "client_id": client.pk, "user_id": getattr(user, "pk", None)}
    row_values = {
        field.attname: given[field.attname] if field.attname in given else field.get_default()
        for field in _INSERTED
    }
    db = riders.unit_database()  # inside the issuance unit: the wrapper it holds
    vendor = db.vendor
    params = _INSERTED_ROW.prepared([row_values[field.attname] for field in _INSERTED], db)
    deferred = vendor == "postgresql" and riders.deferring()
    confirming = ""
    if vendor == "postgresql":
        confirmation = _confirmation(client)
        confirming = ("", "row", "secret")[len(confirmation)]
        head = [client.pk, *confirmation]
        if deferred:
            (token_id,) = ids.next_ids(Token._meta.db_table, max_age=TOKEN_IDS_MAX_AGE)
            row_values[Token._meta.pk.attname] = token_id
            head.append(token_id)
        params = [*head, *params, access_lifetime, refresh_lifetime is not None, refresh_lifetime or 0]
    else:
        now = timezone.now()
        stamps = (
            now,
            now + timedelta(seconds=access_lifetime),
            now + timedelta(seconds=refresh_lifetime) if refresh_lifetime is not None else None,
        )
        params += [
            Token._meta.get_field(name).get_db_prep_save(value, db)
            for name, value in zip(_STAMPED, stamps, strict=True)
        ]
    if deferred:
        token = _token_instance(db, row_values, client, user)
        riders.defer_fact(
            _insert_token_sql(vendor, with_id=True, confirming=confirming),
            params,
            lambda row: _stamp(db, token, row, client),
        )
        return token
    with _cursor(db) as cursor:
        cursor.execute(_insert_token_sql(vendor, confirming=confirming), params)
        row = cursor.fetchone()
    _written(client, row)
    row_values[Token._meta.pk.attname] = row[0]
    for name, value in zip(_STAMPED, row[1:], strict=True):
        row_values[name] = _convert(db, Token._meta.get_field(name), value)
    return _token_instance(db, row_values, client, user)


# Token ids are taken ahead only for the statement that writes a token with its audit event;
# nothing seals tokens by id, so a worker may keep them as long as it likes.
TOKEN_IDS_MAX_AGE = 300.0


def _token_instance(db, row_values: dict[str, Any], client: Client, user) -> Token:
    # Every field, as `Token.from_db` builds a saved instance of them.
    token = _token_from_db(db.alias, [row_values.get(f.attname) for f in _ALL_TOKEN_FIELDS])
    _RELATED["client"].set_cached_value(token, client)
    _RELATED["user"].set_cached_value(token, user)
    return token


def _confirmation(client: Client) -> list[str]:
    """The parameters that confirm a provisional client: its row's version, then the digest of
    the secret it authenticated with, if any; none for a client read by this request."""
    version = getattr(client, "provisional_version", None)
    if version is None:
        return []
    digest = getattr(client, "authenticated_digest", None)
    return [version] if digest is None else [version, digest]


def _written(client: Client, row: tuple | None) -> None:
    """The INSERT ran: nothing written is ClientGone, or Unconfirmed for a provisional client
    (answered again from the database); written, a provisional client's authentication is
    announced now that the statement confirmed it."""
    provisional = getattr(client, "provisional_version", None) is not None
    if row is None:
        if provisional:
            raise Unconfirmed
        raise ClientGone(client.pk)
    if provisional:
        client.confirmed()


def _stamp(db, token: Token, row: tuple | None, client: Client) -> None:
    """The deferred INSERT ran: its timestamps onto `token` (`_written` says the rest)."""
    _written(client, row)
    for name, value in zip(_STAMPED, row[1:], strict=True):
        setattr(token, name, _convert(db, Token._meta.get_field(name), value))


def _convert(db, field, value):
    for convert in _converters(db.vendor, field, "t"):
        value = convert(value, None, db)
    return value
