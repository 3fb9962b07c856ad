"""The client and the token it names, in one statement (RFC 7662 introspection, RFC 7009 revocation).

Both endpoints authenticate the client (`active_client`: the client with its secret digests),
then look up the token the form names by either digest (`token_by_digest(by="either")`): two
round trips to the database, where the token's lookup does not depend on the client's. Within
`token_alongside_client(digest)`, the client's lookup fetches that token in the same statement
(a LEFT JOIN of the two lookups' rows), and `fetched(digest)` hands it to the token's lookup.

The asking client comes with the columns its authentication and the endpoints read
(`sql.ASKING_CLIENT_FIELDS`), the others deferred (read on first use).

What each endpoint decides is unchanged: the token is used only after the client authenticated
(the endpoints ask for it then), and the statement reads what the two statements read, one
snapshot instead of two a few microseconds apart. A digest is 256 bits of a random token's keyed
hash, so looking one up for a client that then fails to authenticate tells the requester
nothing (the answer is the same 401, and the token is not used).

A context variable carries the digest, so a thread of a gthread worker sees only its own
request's; outside the block (the token endpoint, the authorization endpoint) nothing changes.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from django.db import connection
from django.utils import timezone

from server.hotpath import sql
from server.hotpath.prepared import cursor as _cursor
from server.hotpath.prepared import database
from server.models import Client, ClientSecret, Token

NOT_FETCHED = object()


class _Lookahead:
    __slots__ = ("digest", "served", "token", "value")

    def __init__(self, digest: str, served: bool, value: str | None) -> None:
        self.digest = digest
        self.served = served
        self.value = value
        self.token = NOT_FETCHED  # Token or None once fetched


_pending: ContextVar[_Lookahead | None] = ContextVar("token_alongside_client", default=None)


@contextmanager
def token_alongside_client(digest: str | None, *, served: bool = False, value: str | None = None):
    """Within the block, the client's lookup fetches the token with this digest too (None: no
    token to fetch, the lookups run as usual). `served`: read the APIs the client serves as a
    resource server too (introspection's audience rule; revocation needs none). `value`: the
    token whose digest it is, so that the endpoint's own lookup need not compute it again
    (`digest_of`)."""
    if digest is None:
        yield
        return
    reset = _pending.set(_Lookahead(digest, served, value))
    try:
        yield
    finally:
        _pending.reset(reset)


def digest_of(value: str | None) -> str | None:
    """The digest the enclosing block was given for this token value; None when the block was
    for another value, or for none, or there is no block (compute it then)."""
    pending = _pending.get()
    if pending is None or pending.value is None or pending.value != value:
        return None
    return pending.digest


def fetched(digest: str) -> Token | object | None:
    """The token with this digest as the client's lookup fetched it (None: there is none), or
    NOT_FETCHED when no lookup in this block fetched that digest."""
    pending = _pending.get()
    if pending is None or pending.digest != digest:
        return NOT_FETCHED
    return pending.token


def active_client(client_id: str) -> Client | None:
    """`sql.active_client`, fetching the pending token in the same statement the first time."""
    pending = _pending.get()
    if pending is None or pending.token is not NOT_FETCHED:
        return sql.active_client(client_id)
    client, token = _client_and_token(client_id, pending.digest, served=pending.served)
    if client is not None:
        # No client, no token: the endpoint answers 401 and never asks (and if it did, the
        # lookup would run on its own).
        pending.token = token
    return client


def _columns(vendor: str, name: str, alias: str) -> str:
    """A selection's columns under another table alias (the token's client beside the asking one)."""
    q = connection.ops.quote_name
    return ", ".join(f"{alias}.{q(field.column)}" for field in sql._selections(vendor)[name].fields)


@cache
def _client_and_token_sql(vendor: str, served: bool = False) -> str:
    s = sql._selections(vendor)
    token, client, user = s["token"], s["asking_client"], s["named_token_user"]
    q = connection.ops.quote_name
    # The token's id as `sql._token_sql(vendor, "either")` finds it: two probes of the unique
    # digest indexes, the second skipped when the first finds the token. Its row, client and
    # user are then joined once by primary key: the statement names each column list once, so
    # it stays under psycopg's cache limit for parsed statements (4 KiB; a longer one is parsed
    # again on every execution).
    found = (
        f"SELECT id FROM {token.table} WHERE {q('access_token_digest')} = %s "  # noqa: S608
        f"UNION ALL SELECT id FROM {token.table} WHERE {q('refresh_token_digest')} = %s LIMIT 1"
    )
    return (
        f"SELECT {client.columns}, {sql.secret_columns(vendor)}, "  # noqa: S608
        # The APIs this client serves as a resource server (introspection's audience rule).
        f"{sql._served_sql(vendor, client_ref='c.id') if served else 'NULL'}, "
        f"{token.columns}, {_columns(vendor, 'token_client', 'tc')}, {user.columns} "
        f"FROM {client.table} c "
        f"{sql.unexpired_secrets(vendor)} "
        f"LEFT JOIN ({found}) found ON 1 = 1 "
        f"LEFT JOIN {token.table} t ON t.id = found.id "
        # The token's client, when it is another than the asker: a client's own token (every
        # revocation that revokes, most introspections) takes the asker's instance, so its
        # columns are not sent, loaded and dropped a second time (NULLs instead). Another's
        # client comes with the columns the hot paths read (`sql.TOKEN_CLIENT_FIELDS`).
        f"LEFT JOIN {client.table} tc ON tc.id = t.{q('client_id')} AND tc.id <> c.id "
        f"LEFT JOIN {user.table} u ON u.{q(user.model._meta.pk.column)} = t.{q('user_id')} "
        f"WHERE c.{q('client_id')} = %s AND c.{q('status')} = %s"
    )


def _client_and_token(
    client_id: str, digest: str, *, served: bool = False
) -> tuple[Client | None, Token | None]:
    db = database()
    vendor = db.vendor
    s = sql._selections(vendor)
    expires_field = ClientSecret._meta.get_field("expires_at")
    now = expires_field.get_db_prep_value(timezone.now(), db)
    with _cursor(db) as cursor:
        cursor.execute(
            _client_and_token_sql(vendor, served), [now, digest, digest, client_id, Client.Status.ACTIVE]
        )
        rows = cursor.fetchall()
    if not rows:
        return None, None
    width = len(s["asking_client"])
    client = sql.client_with_secrets(db, [row[: width + 2] for row in rows], selection="asking_client")
    served_apis = (rows[0][width + 2] or "").split()
    token_row = rows[0][width + 3 :]
    if token_row[0] is None:  # the token's id: no token has this digest
        return client, None
    token = sql.token_from_row(
        db, token_row, digest, by="either", known_client=client, user_selection="named_token_user"
    )
    if served:
        # As `sql.token_by_digest(served_by=client.pk)` reads them: the asker's APIs, and whose.
        token.served_apis, token.served_by = served_apis, client.pk
    return client, token
