"""The protocol hot paths' SQL, written once and compiled once per database vendor.

On a token request or a bearer check, building a query with the ORM costs more than PostgreSQL
takes to answer it (bench/results/*-profile-*.md): the compiler walks every field of three models
on every request. These statements are built from the models' own metadata (table and column
names, the backend's converters and adapters) the first time they run, then only executed:

- `active_client`: a client and its unexpired secret digests, one query (a LEFT JOIN), so the
  secret check that follows needs none; on PostgreSQL with its row's version (`xmin`), which the
  token INSERT checks when this worker hands the client out again (`known_clients`);
- `token_by_digest`: a token joined with its client (the columns the hot paths read, the others
  deferred) and user, by access or refresh digest (or either: a UNION ALL of the two index
  probes, a plan that needs no statistics);
- the token INSERT has a module of its own, `server.hotpath.token_insert`.

Rows come back as ordinary model instances with their relations cached, so callers see no
difference from the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from server.hotpath.instances import saved_instances
from server.hotpath.prepared import cursor as _cursor
from server.hotpath.prepared import database
from server.models import Api, Client, ClientSecret, Token


class Selection:
    """A model's concrete columns under a table alias (all of them, or `only` those named), and
    the way back to an instance: with `only`, the others are deferred, as `.only()` leaves them
    (read from the database on first use)."""

    def __init__(self, model: type[Model], alias: str, only: Sequence[str] = ()):
        self.model = model
        self.alias = alias
        self.fields = [f for f in model._meta.concrete_fields if not only or f.name in only or f.primary_key]
        self.attnames = [field.attname for field in self.fields]
        self._instance = saved_instances(model, self.attnames)
        self.table = connection.ops.quote_name(model._meta.db_table)
        columns = (f"{alias}.{connection.ops.quote_name(field.column)}" for field in self.fields)
        self.columns = ", ".join(columns)
        # Only the columns that need converting (SQLite datetimes, UUIDs, JSON), by position.
        vendor = connection.vendor
        self.converters = [
            (index, found)
            for index, field in enumerate(self.fields)
            if (found := _converters(vendor, field, alias))
        ]

    def __len__(self) -> int:
        return len(self.fields)

    def build(self, values: Sequence[Any], db) -> Model:
        """The instance of a row's columns, read from `db` (the connection: `database()`)."""
        converted = list(values)
        for index, converters in self.converters:
            value = converted[index]
            for convert in converters:
                value = convert(value, None, db)
            converted[index] = value
        return self._instance(db.alias, converted)


@cache
def _converters(vendor: str, field, alias: str) -> list:
    """The backend's and the field's from-database converters (SQLite datetimes, UUIDs ...)."""
    column = field.get_col(alias)
    del vendor  # the cache key
    return connection.ops.get_db_converters(column) + column.get_db_converters(connection)


# What a bearer check, an introspection, a revocation and a refresh read of the token's client:
# each column more is ~0.5 us of PostgreSQL's and psycopg's per execution, so the other 32 are
# left for a view that asks (one query then). A field missing here costs a pinned path a second
# statement (tests/server/test_query_counts.py).
TOKEN_CLIENT_FIELDS = (
    "client_id",
    "name",
    "status",
    "client_type",
    # The `sub` a token's user has at its client (`server.claims.subject_for`): introspection
    # and userinfo answer with it.
    "subject_type",
    "sector_identifier",
    "userinfo_signed_response_alg",
)

# What introspection and revocation read of the client that asks (`server.hotpath.lookahead`):
# its authentication and the endpoints' rules, and, when the token is its own, what they read
# of a token's client. It is not remembered for provisional use (`known_clients` keeps the
# clients `active_client` reads, every column).
ASKING_CLIENT_FIELDS = (
    *TOKEN_CLIENT_FIELDS,
    "token_endpoint_auth_method",
    "can_introspect_any_token",
    # private_key_jwt: the keys a client assertion is checked with, and the algorithm it must use.
    "token_endpoint_auth_signing_alg",
    "jwks",
    "jwks_uri",
)


@cache
def _selections(vendor: str) -> dict[str, Selection]:
    del vendor  # the cache key: the SQL and converters differ per backend
    user = get_user_model()
    return {
        "token": Selection(Token, "t"),
        "client": Selection(Client, "c"),
        # The client of a token a bearer check, an introspection or a revocation finds: what
        # they read of it (`TOKEN_CLIENT_FIELDS`), not its ~40 columns.
        "token_client": Selection(Client, "c", only=TOKEN_CLIENT_FIELDS),
        "asking_client": Selection(Client, "c", only=ASKING_CLIENT_FIELDS),
        "user": Selection(user, "u"),
        # The user of the token an introspection or a revocation names: what they read of it (its
        # username and whether it is active); the token is not handed to a view there.
        "named_token_user": Selection(user, "u", only=(user.USERNAME_FIELD, "is_active")),
        "secret": Selection(ClientSecret, "s"),
    }


# --- clients --------------------------------------------------------------------------------------


@cache
def unexpired_secrets(vendor: str) -> str:
    """A LEFT JOIN of the client `c`'s unexpired secrets as `s` (a row each; NULLs for none),
    with one parameter: now, as the database takes it. Every statement that authenticates a
    client reads its secrets this way (`active_client`, `lookahead`, `device_polls`), selecting
    `secret_columns` for `client_with_secrets`."""
    secret = _selections(vendor)["secret"]
    q = connection.ops.quote_name
    expires = q("expires_at")
    return (
        f"LEFT JOIN {secret.table} s ON s.{q('client_id')} = c.id "
        f"AND (s.{expires} IS NULL OR s.{expires} > %s)"
    )


@cache
def secret_columns(vendor: str) -> str:
    """The select list of `unexpired_secrets`: digest, then expiry."""
    del vendor  # the cache key
    q = connection.ops.quote_name
    return f"s.{q('digest')}, s.{q('expires_at')}"


@cache
def _active_client_sql(vendor: str) -> str:
    client = _selections(vendor)["client"]
    q = connection.ops.quote_name
    # Last, after the columns `client_with_secrets` reads: the row's version (PostgreSQL).
    version = ", c.xmin::text" if vendor == "postgresql" else ""
    return (
        f"SELECT {client.columns}, {secret_columns(vendor)}{version} FROM {client.table} c "  # noqa: S608
        f"{unexpired_secrets(vendor)} "
        f"WHERE c.{q('client_id')} = %s AND c.{q('status')} = %s"
    )


def active_client(client_id: str) -> Client | None:
    """The active client with this client_id, carrying its unexpired secret digests."""
    db = database()
    sql = _active_client_sql(db.vendor)
    expires_field = ClientSecret._meta.get_field("expires_at")
    now = timezone.now()
    with _cursor(db) as cursor:
        cursor.execute(sql, [expires_field.get_db_prep_value(now, db), client_id, Client.Status.ACTIVE])
        rows = cursor.fetchall()
    if not rows:
        return None
    client = client_with_secrets(db, rows)
    if db.vendor == "postgresql":
        client.row_version = rows[0][-1]
    return client


def client_with_secrets(db, rows: Sequence[Sequence[Any]], selection: str = "client") -> Client:
    """The client of `active_client`'s rows (the client's columns, then a secret's digest and
    expiry, or NULLs: one row per unexpired secret), carrying its secret digests; `db`: the
    connection they were read from; `selection`: the one whose columns the rows start with."""
    selection = _selections(db.vendor)[selection]
    expires_field = ClientSecret._meta.get_field("expires_at")
    client = selection.build(rows[0][: len(selection)], db)
    expiry_converters = _converters(db.vendor, expires_field, "s")
    secrets = []
    for row in rows:
        digest, expires_at = row[len(selection)], row[len(selection) + 1]
        if digest is None:
            continue
        for convert in expiry_converters:
            expires_at = convert(expires_at, None, db)
        secrets.append((digest, expires_at))
    client.loaded_secrets = secrets
    return client


# --- tokens ---------------------------------------------------------------------------------------


@cache
def _served_sql(vendor: str, client_ref: str = "%s") -> str:
    """A column: the identifiers (space-separated) of the APIs whose resource servers include
    the client whose pk is `client_ref` (a parameter by default, or a column of the enclosing
    statement); NULL when none. Identifiers hold no spaces (`api_policy.validate_api_identifier`)."""
    q = connection.ops.quote_name
    through = Api.resource_servers.through._meta
    aggregate = "string_agg" if vendor == "postgresql" else "group_concat"
    return (
        f"(SELECT {aggregate}(a.{q('identifier')}, ' ') FROM {q(through.db_table)} r "  # noqa: S608
        f"INNER JOIN {q(Api._meta.db_table)} a ON a.id = r.{q('api_id')} "
        f"WHERE r.{q('client_id')} = {client_ref})"
    )


@cache
def _token_sql(vendor: str, by: str, served: bool = False) -> str:
    s = _selections(vendor)
    token, client, user = s["token"], s["token_client"], s["user"]
    q = connection.ops.quote_name
    extra = f", {_served_sql(vendor)}" if served else ""
    select = (
        f"SELECT {token.columns}, {client.columns}, {user.columns}{extra} FROM {token.table} t "  # noqa: S608
        f"INNER JOIN {client.table} c ON c.id = t.{q('client_id')} "
        f"LEFT JOIN {user.table} u ON u.{q(user.model._meta.pk.column)} = t.{q('user_id')} "
    )
    if by == "either":
        # Two probes of the two unique digest indexes, not one `access = %s OR refresh = %s`:
        # PostgreSQL's generic plan of the OR, on a table its statistics do not describe yet
        # (freshly loaded, not yet analysed), walked the client's (client_id, issued_at) index
        # instead. Each branch has one plan only; LIMIT 1 skips the second probe when the first
        # finds the token (on PostgreSQL the Append stops; a digest of 256 random bits matches one row).
        return (
            f"{select}WHERE t.{q('access_token_digest')} = %s "
            f"UNION ALL {select}WHERE t.{q('refresh_token_digest')} = %s LIMIT 1"
        )
    return f"{select}WHERE t.{q(by + '_digest')} = %s"


def token_by_digest(digest: str, *, by: str = "access_token", served_by: int | None = None) -> Token | None:
    """The token whose access token (`by="access_token"`), refresh token ("refresh_token") or
    either ("either") has this digest, with its client and user loaded; None if there is none.
    With "either", `matched_as` on the result says which one matched.

    `served_by`: the pk of a client (the one introspecting); the same statement then reads the
    identifiers of the APIs that client serves as a resource server, into `served_apis` on the
    result (a list; empty: it serves none), so introspection's audience rule costs no query."""
    db = database()
    served = served_by is not None
    params = [digest, digest] if by == "either" else [digest]
    if served:
        params = [value for one in params for value in (served_by, one)]
    with _cursor(db) as cursor:
        cursor.execute(_token_sql(db.vendor, by, served), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return token_from_row(db, row, digest, by=by, served=served)


def token_from_row(
    db,
    row: Sequence[Any],
    digest: str,
    *,
    by: str,
    known_client: Client | None = None,
    served: bool = False,
    user_selection: str = "user",
) -> Token:
    """The token of a `token_by_digest` row (token, client and user columns), its client and
    user cached on it; with `by="either"`, `matched_as` says which digest matched.
    `known_client`: the token's client when it is this one, read by the same statement (no
    second instance built from the same row). `served`: the row ends with `_served_sql`'s
    column, read into `served_apis`. `db`: the connection the row was read from;
    `user_selection`: the selection of the user's columns in the row."""
    s = _selections(db.vendor)
    token_sel, client_sel, user_sel = s["token"], s["token_client"], s[user_selection]
    split_client = len(token_sel)
    split_user = split_client + len(client_sel)
    end_user = split_user + len(user_sel)
    token = token_sel.build(row[:split_client], db)
    if known_client is not None and known_client.pk == token.client_id:
        client = known_client
    else:
        client = client_sel.build(row[split_client:split_user], db)
    user = user_sel.build(row[split_user:end_user], db) if token.user_id is not None else None
    if served:
        token.served_apis = (row[end_user] or "").split()
    _RELATED["client"].set_cached_value(token, client)
    _RELATED["user"].set_cached_value(token, user)
    if by == "either":
        token.matched_as = "access_token" if token.access_token_digest == digest else "refresh_token"
    return token


_RELATED = {name: Token._meta.get_field(name) for name in ("client", "user")}


def database_now() -> datetime:
    """The database's clock (PostgreSQL) or ours (SQLite): bulk revocation stamps with it, so
    its instant and `insert_token`'s `issued_at` come from one clock (`server.hotpath.locks`)."""
    if database().vendor != "postgresql":
        return timezone.now()
    with _cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]
