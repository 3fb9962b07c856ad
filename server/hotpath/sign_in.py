"""The OpenID Connect sign-in's statements, written once like `server.hotpath.sql`'s (and
prepared on PostgreSQL): the remembered consent and the new code at the authorization endpoint,
the code with its user and the active signing key at the token endpoint.

Each read replaces an ORM queryset that the sign-in ran on every request (bench.request_cost
--endpoints openid): compiling it cost more than PostgreSQL took to answer it. The statements
and what they return are the querysets': same rows, same instances. The new code is the fact
its `consent_granted` event rides on (`server.hotpath.riders`, PostgreSQL).
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection

from server.hotpath import riders
from server.hotpath.params import Row
from server.hotpath.prepared import cursor as _cursor
from server.hotpath.prepared import database
from server.hotpath.sql import Selection
from server.models import AuthorizationCode, ClientSession, Consent, SigningKey

_CODE_USER = AuthorizationCode._meta.get_field("user")


@cache
def _selections(vendor: str) -> dict[str, Selection]:
    del vendor  # the cache key: the SQL and converters differ per backend
    return {"code": Selection(AuthorizationCode, "a"), "user": Selection(get_user_model(), "u")}


@cache
def _consent_sql(vendor: str) -> str:
    del vendor  # the cache key
    q = connection.ops.quote_name
    # One row per (user, client) by constraint: no ORDER BY needed for "the" consent.
    return (
        f"SELECT {q('scope')}, {q('claims')} FROM {q(Consent._meta.db_table)} "  # noqa: S608
        f"WHERE {q('user_id')} = %s AND {q('client_id')} = %s"
    )


def consent_of(user_pk, client_pk) -> tuple[str, str] | None:
    """(scope, claims) the user remembered approving for the client, or None."""
    db = database()
    with _cursor(db) as cursor:
        cursor.execute(_consent_sql(db.vendor), [user_pk, client_pk])
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


@cache
def _code_sql(vendor: str) -> str:
    s = _selections(vendor)
    code, user = s["code"], s["user"]
    q = connection.ops.quote_name
    return (
        f"SELECT {code.columns}, {user.columns} FROM {code.table} a "  # noqa: S608
        f"INNER JOIN {user.table} u ON u.{q(user.model._meta.pk.column)} = a.{q('user_id')} "
        f"WHERE a.{q('code_digest')} = %s"
    )


def code_by_digest(digest: str) -> AuthorizationCode | None:
    """The authorization code with this digest, its user loaded (as `select_related("user")`)."""
    db = database()
    with _cursor(db) as cursor:
        cursor.execute(_code_sql(db.vendor), [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    s = _selections(db.vendor)
    split = len(s["code"])
    code = s["code"].build(row[:split], db)
    _CODE_USER.set_cached_value(code, s["user"].build(row[split:], db))
    return code


_KEY_FIELDS = ("id", "kid", "alg", "private_key_encrypted")


@cache
def _active_key_sql(vendor: str) -> str:
    del vendor  # the cache key
    q = connection.ops.quote_name
    columns = ", ".join(q(name) for name in _KEY_FIELDS)
    # One active key per algorithm, by constraint: no ORDER BY.
    return (
        f"SELECT {columns} FROM {q(SigningKey._meta.db_table)} "  # noqa: S608
        f"WHERE {q('alg')} = %s AND {q('state')} = %s"
    )


def active_signing_key(alg: str) -> SigningKey | None:
    """The active key for `alg` with the columns signing reads (as `.only(...)`), or None."""
    db = database()
    with _cursor(db) as cursor:
        cursor.execute(_active_key_sql(db.vendor), [alg, SigningKey.State.ACTIVE])
        row = cursor.fetchone()
    return None if row is None else SigningKey.from_db(db.alias, _KEY_FIELDS, row)


_CODE_FIELDS = [field for field in AuthorizationCode._meta.concrete_fields if not field.primary_key]
_CODE_ROW = Row(_CODE_FIELDS)
_SESSION_FIELDS = [field for field in ClientSession._meta.concrete_fields if not field.primary_key]
_SESSION_ROW = Row(_SESSION_FIELDS)


@cache
def _insert_code_sql(vendor: str) -> str:
    del vendor  # the cache key
    q = connection.ops.quote_name
    columns = ", ".join(q(field.column) for field in _CODE_FIELDS)
    placeholders = ", ".join(["%s"] * len(_CODE_FIELDS))
    table = q(AuthorizationCode._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {q('id')}"  # noqa: S608


def store_code(code: AuthorizationCode, client_session: ClientSession | None) -> None:
    """Write a new code and, for an OpenID code, its OP session's client (`client_session`; a
    pair the table holds already is left as it is, as `bulk_create(ignore_conflicts=True)`).

    In an issuance unit on PostgreSQL (`riders.one_statement`) the code is the fact: the
    session's row rides on it, and so does its `consent_granted` audit event, sent next: one
    statement in autocommit, where they were BEGIN, three INSERTs and COMMIT (bench.request_cost
    --endpoints openid). They commit together either way. Elsewhere, the ORM's writes."""
    if not riders.deferring():
        if client_session is not None:
            ClientSession.objects.bulk_create([client_session], ignore_conflicts=True)
        code.save(force_insert=True)
        return
    db = database()

    def done(row: tuple | None) -> None:
        # An INSERT ... VALUES writes its row or raises: the row is there.
        code.pk = row[0]
        code._state.adding, code._state.db = False, db.alias

    values = [getattr(code, field.attname) for field in _CODE_FIELDS]
    riders.defer_fact(_insert_code_sql(db.vendor), _CODE_ROW.prepared(values, db), done)
    if client_session is not None:
        values = [getattr(client_session, field.attname) for field in _SESSION_FIELDS]
        columns = [field.column for field in _SESSION_FIELDS]
        riders.ride(
            ClientSession._meta.db_table, columns, _SESSION_ROW.prepared(values, db), ignore_conflict=True
        )


@cache
def _claim_code_sql(vendor: str) -> str:
    del vendor  # the cache key
    q = connection.ops.quote_name
    return (
        f"UPDATE {q(AuthorizationCode._meta.db_table)} SET {q('used_at')} = %s "  # noqa: S608
        f"WHERE {q('id')} = %s AND {q('used_at')} IS NULL AND {q('expires_at')} > %s"
    )


def claim_code(code_pk: int, now) -> bool:
    """Mark the code used at `now` if it is unused and unexpired then: True for the one caller
    whose UPDATE wins (the queryset's `.filter(...).update(used_at=now) == 1`)."""
    db = database()
    prepared = AuthorizationCode._meta.get_field("used_at").get_db_prep_save(now, db)
    with _cursor(db) as cursor:
        cursor.execute(_claim_code_sql(db.vendor), [prepared, code_pk, prepared])
        return cursor.rowcount == 1
