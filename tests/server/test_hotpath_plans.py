"""Hot-path token lookups probe the digest indexes whatever the statistics say (issue 13, item 3).

Introspection and revocation without `token_type_hint` look a token up by either digest. As one
`access = $1 OR refresh = $2`, PostgreSQL's generic plan of the prepared statement, on a table
loaded but not yet analysed, walked the client's whole (client_id, issued_at) index instead:
4 ms instead of 0.1 ms per lookup. The statement is now a UNION ALL of two probes, one per unique
digest index; these tests EXPLAIN the generic plan on rows that were never ANALYZEd.
"""

import re
import secrets
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from server import credentials
from server.hotpath import lookahead, sql, token_insert
from server.models import Token

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="EXPLAIN of PostgreSQL's generic plan; SQLite prepares no generic plan to get wrong",
)

TOKEN = Token._meta.db_table
DIGEST_INDEXES = {"token_access_digest_unique", "token_refresh_digest_unique"}


@pytest.fixture
def two_clients(make_client, end_user):
    return make_client("Machine app")[0], make_client("Web app")[0], end_user


@pytest.fixture
def loaded(two_clients):
    """100k tokens of two clients (a fifth with a refresh token), as `bench` seeds them, loaded
    in one INSERT and never ANALYZEd. (With the old OR, this is the shape whose generic plan
    walked each client's tokens by its client_id index.)"""
    machine, web, user = two_clients
    with connection.cursor() as cursor:
        # What the planner knows of the table is what a fresh install's is: nothing. An earlier
        # test (or autovacuum) may have analysed it in this test database, so its statistics are
        # forgotten here and autovacuum kept off it; the test's transaction undoes both.
        cursor.execute(f"ALTER TABLE {TOKEN} SET (autovacuum_enabled = false)")
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [TOKEN])
        cursor.execute("UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = %s::regclass", [TOKEN])
        cursor.execute(
            f"INSERT INTO {TOKEN} (access_token_digest, access_token_prefix, refresh_token_digest, "
            "refresh_token_prefix, token_type, client_id, user_id, grant_type, scope, issued_at, "
            "expires_at, revoked_by, revoked_reason, family_id) "
            "SELECT md5('a' || n) || md5('b' || n), 'p', "
            "CASE WHEN n %% 5 = 0 THEN md5('r' || n) || md5('s' || n) END, '', 'Bearer', "
            "CASE WHEN n %% 2 = 0 THEN %s ELSE %s END, CASE WHEN n %% 2 = 0 THEN NULL ELSE %s END, "
            "'client_credentials', '', now() - n * interval '1 second', now() + interval '1 hour', "
            "'', '', gen_random_uuid() FROM generate_series(1, 100000) n",
            [machine.pk, web.pk, user.pk],
        )
        cursor.execute(
            "SELECT reltuples, (SELECT count(*) FROM pg_statistic WHERE starelid = oid) "
            "FROM pg_class WHERE oid = %s::regclass",
            [TOKEN],
        )
        reltuples, statistics = cursor.fetchone()
    assert (reltuples, statistics) == (-1, 0), "the rows must be planned without statistics"


def generic_plan(statement: str, params: list[str]) -> str:
    """EXPLAIN of the statement's generic plan (what a prepared statement runs after five uses)."""
    numbered = iter(range(1, len(params) + 1))
    prepared = re.sub(r"%s", lambda _match: f"${next(numbered)}", statement)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE lookup AS {prepared}")
        try:
            cursor.execute(f"EXPLAIN EXECUTE lookup({', '.join(['%s'] * len(params))})", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE lookup")


@postgresql_only
@pytest.mark.parametrize("by", ["either", "access_token", "refresh_token"])
def test_token_lookup_probes_only_the_digest_indexes_without_statistics(loaded, by):
    statement = sql._token_sql(connection.vendor, by)
    plan = generic_plan(statement, ["a-digest"] * statement.count("%s"))
    wanted = {
        "either": DIGEST_INDEXES,
        "access_token": {"token_access_digest_unique"},
        "refresh_token": {"token_refresh_digest_unique"},
    }[by]
    # Each index the plan reads, and whether server_token is read any other way.
    used = set(re.findall(r"Index (?:Only )?Scan (?:using|on) (\w+)", plan))
    token_indexes = {index.name for index in Token._meta.indexes} | {
        name for name in used if name.startswith(f"{TOKEN}_")
    }
    assert wanted <= used, plan
    assert not (used & token_indexes), plan  # no walk of a client's (or a user's) tokens
    assert f"Seq Scan on {TOKEN}" not in plan, plan


def test_either_lookup_finds_a_token_by_each_digest(two_clients):
    # The UNION ALL answers for both kinds, and says which one matched, on both databases.
    _machine, web, user = two_clients
    now = timezone.now()
    stored, _other = Token.objects.bulk_create(
        Token(
            access_token_digest=credentials.digest(secrets.token_urlsafe(16)),
            access_token_prefix="p",
            refresh_token_digest=credentials.digest(secrets.token_urlsafe(16)),
            client=web,
            user=user,
            grant_type="authorization_code",
            expires_at=now + timedelta(hours=1),
        )
        for _ in range(2)
    )
    by_access = sql.token_by_digest(stored.access_token_digest, by="either")
    by_refresh = sql.token_by_digest(stored.refresh_token_digest, by="either")
    assert (by_access.pk, by_access.matched_as) == (stored.pk, "access_token")
    assert (by_refresh.pk, by_refresh.matched_as) == (stored.pk, "refresh_token")
    assert by_refresh.client.pk == stored.client_id and by_refresh.user.pk == stored.user_id
    assert sql.token_by_digest("no-such-digest", by="either") is None


@postgresql_only
def test_introspections_lookup_with_the_askers_apis_still_probes_only_the_digest_indexes(loaded):
    # Introspection's variant: a scalar subquery names the APIs the asking client serves (its
    # parameter first, then the digest, per branch of the UNION ALL).
    statement = sql._token_sql(connection.vendor, "either", True)
    plan = generic_plan(statement, [1, "a-digest", 1, "a-digest"])
    used = set(re.findall(r"Index (?:Only )?Scan (?:using|on) (\w+)", plan))
    assert used >= DIGEST_INDEXES, plan
    assert f"Seq Scan on {TOKEN}" not in plan, plan


@postgresql_only
def test_client_and_token_lookup_probes_only_the_digest_indexes_without_statistics(loaded, two_clients):
    # Introspection and revocation fetch the token with the client (`hotpath.lookahead`): the
    # token's half of that statement must plan as the lookup on its own does.
    machine = two_clients[0]
    statement = lookahead._client_and_token_sql(connection.vendor)
    plan = generic_plan(
        statement, [timezone.now().isoformat(), "a-digest", "a-digest", machine.client_id, "active"]
    )
    used = set(re.findall(r"Index (?:Only )?Scan (?:using|on) (\w+)", plan))
    assert used >= DIGEST_INDEXES, plan
    # The token found is then read by its primary key; no other index of the token table.
    assert not {name for name in used if name.startswith(f"{TOKEN}_") and name != f"{TOKEN}_pkey"}, plan
    assert f"Seq Scan on {TOKEN}" not in plan, plan


def test_client_and_token_in_one_statement_find_what_two_lookups_find(two_clients):
    # Both databases: the token by each digest, with its client and user, beside the client and
    # its secrets; an unknown digest gives the client and no token; an unknown client neither.
    machine, web, user = two_clients
    now = timezone.now()
    stored = Token.objects.create(
        access_token_digest=credentials.digest(secrets.token_urlsafe(16)),
        access_token_prefix="p",
        refresh_token_digest=credentials.digest(secrets.token_urlsafe(16)),
        client=web,
        user=user,
        grant_type="authorization_code",
        expires_at=now + timedelta(hours=1),
    )
    for digest, matched in (
        (stored.access_token_digest, "access_token"),
        (stored.refresh_token_digest, "refresh_token"),
    ):
        client, token = lookahead._client_and_token(machine.client_id, digest)
        alone = sql.active_client(machine.client_id)
        assert (client.pk, client.loaded_secrets) == (alone.pk, alone.loaded_secrets)
        assert client.loaded_secrets  # the secret came with it
        assert (token.pk, token.matched_as) == (stored.pk, matched)
        assert (token.client.pk, token.user.pk) == (web.pk, user.pk)
    # The client's own token: its client is the instance the statement built for the client.
    client, token = lookahead._client_and_token(web.client_id, stored.access_token_digest)
    assert token.client is client and token.pk == stored.pk
    client, token = lookahead._client_and_token(machine.client_id, "no-such-digest")
    assert client.pk == machine.pk and token is None
    assert lookahead._client_and_token("no-such-client", stored.access_token_digest) == (None, None)


def test_the_statement_sends_the_tokens_client_only_when_it_is_another(two_clients):
    # A client's own token takes the asker's instance: its client's columns come back NULL
    # rather than the asker's row a second time. Another client's token brings its client.
    machine, web, user = two_clients
    stored = Token.objects.create(
        access_token_digest=credentials.digest(secrets.token_urlsafe(16)),
        access_token_prefix="p",
        client=web,
        user=user,
        grant_type="authorization_code",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    selections = sql._selections(connection.vendor)
    start = len(selections["asking_client"]) + 3 + len(selections["token"])  # secret, expiry, served
    statement = lookahead._client_and_token_sql(connection.vendor)
    digest = stored.access_token_digest

    def token_client_columns(asker) -> list:
        with connection.cursor() as cursor:
            cursor.execute(statement, [None, digest, digest, asker.client_id, "active"])
            (row,) = cursor.fetchall()[:1]
        assert row[start - len(selections["token"])] == stored.pk
        return list(row[start : start + len(selections["token_client"])])

    assert token_client_columns(web) == [None] * len(selections["token_client"])
    assert token_client_columns(machine)[:2] == [web.pk, web.client_id]


def test_a_token_fetched_with_the_client_is_handed_over_for_its_own_digest_only(two_clients):
    machine, _web, _user = two_clients
    digest = credentials.digest(secrets.token_urlsafe(16))
    with lookahead.token_alongside_client(digest):
        assert lookahead.fetched(digest) is lookahead.NOT_FETCHED  # no client looked up yet
        assert lookahead.active_client(machine.client_id).pk == machine.pk
        assert lookahead.fetched(digest) is None  # looked up with the client: no such token
        assert lookahead.fetched("another-digest") is lookahead.NOT_FETCHED
    assert lookahead.fetched(digest) is lookahead.NOT_FETCHED  # outside the block


@pytest.mark.parametrize("served", [False, True])
@pytest.mark.parametrize("by", ["access_token", "refresh_token", "either"])
def test_hot_path_statements_fit_psycopgs_cache_of_parsed_statements(by, served):
    # psycopg parses a statement's placeholders once and caches the result, for statements of
    # at most MAX_CACHED_STATEMENT_LENGTH bytes; a longer one is parsed again on every
    # execution (3% of an introspection's CPU, when the client-and-token statement was 6 KB).
    from psycopg import _queries

    limit = _queries.MAX_CACHED_STATEMENT_LENGTH
    vendor = connection.vendor
    statements = {
        "client and token": lookahead._client_and_token_sql(vendor, served),
        "token": sql._token_sql(vendor, by, served),
        "client": sql._active_client_sql(vendor),
        "token insert": token_insert._insert_token_sql(vendor, with_id=served),
        "token insert confirming a provisional client": token_insert._insert_token_sql(
            vendor, with_id=served, confirming="secret"
        ),
    }
    for name, statement in statements.items():
        assert len(statement.encode()) <= limit, (name, len(statement))
