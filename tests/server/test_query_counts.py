"""The statements each protocol endpoint runs, pinned (docs/architecture.md, "Hot paths").

Every request is sent once first: first-use work (content types, the session) is not what a
request costs. Statements are named "VERB table" so a failure says what changed; BEGIN and
COMMIT are listed (Django logs them on both databases; SQLite's is BEGIN IMMEDIATE), because
where a transaction starts and ends is part of what is pinned. PostgreSQL runs a few more than
SQLite where it must order writers explicitly: bulk revocation locks the client rows and reads
the database clock (`services.revoke_tokens`).

Every write a protocol request makes (a token issued, a code redeemed, a token revoked) commits
in one transaction with its audit event (`server.events.IN_TRANSACTION`, docs/audit.md): so a
crash loses neither without the other. Before that (write-behind), a client_credentials token
was its INSERT alone in the request, in autocommit, and the event reached the database up to
200 ms later from a background thread; with write-behind off, the event was a second
transaction at the end of the request (SQLite: BEGIN, SELECT sqlite_sequence, INSERT, COMMIT;
PostgreSQL: SELECT nextval, INSERT in autocommit), so one commit more than now.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from server.hotpath import known_clients
from server.models import Token
from tests.server.helpers import basic_auth, exchange_code, form, get_code, key_client_sender

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = connection.vendor == "postgresql"
AUDIT = "audit_auditevent"
# Writing an audit event, in the transaction of the write it reports: its id is taken first,
# so that the row's position hash can cover its id (issue 11, item 8); then one INSERT of the
# complete row. On SQLite the id follows the table's AUTOINCREMENT counter, read in the
# transaction whose write lock serialises writers. On PostgreSQL ids come from the sequence
# 32 at a time (`server.hotpath.ids`): in the steady state no statement at all (before: one
# `SELECT nextval` per event).
AUDIT_WRITE = [f"INSERT {AUDIT}"] if POSTGRES else ["SELECT sqlite_sequence", f"INSERT {AUDIT}"]
# A token and its audit event: on PostgreSQL one statement (`server.hotpath.riders`: the
# token's INSERT and the event's in data-modifying CTEs, its id taken ahead like the event's),
# before: BEGIN, the token's INSERT, `nextval`, the event's INSERT, COMMIT.
TOKEN_AND_EVENT = ["INSERT server_token"] if POSTGRES else ["INSERT server_token", *AUDIT_WRITE]
# A client_credentials request reads its client (with its secrets) in one SELECT; on PostgreSQL
# only a client this worker has not read yet: after that the token's statement confirms the
# worker's copy instead (`server.hotpath.known_clients`, `server.oauth2.provisional`).
CLIENT_READ_AGAIN = [] if POSTGRES else ["SELECT server_client"]
# Where a statement names its (first) table.
TABLE_AFTER = {"INSERT": r'INSERT INTO "(\w+)"', "UPDATE": r'UPDATE "(\w+)"', "SELECT": r'FROM "(\w+)"'}


SCALAR_SUBQUERY = re.compile(r", \(SELECT (?:[^()]|\([^()]*\))*\)")


def statements(queries: CaptureQueriesContext) -> list[str]:
    """Each captured statement as "VERB table" (a CTE's INSERT counts as an INSERT)."""
    named = []
    for query in queries.captured_queries:
        sql = query["sql"]
        found = re.search(r"\b(INSERT|UPDATE|DELETE|SELECT|SAVEPOINT|RELEASE|BEGIN|COMMIT)\b", sql)
        verb = found.group(1) if found else sql.split()[0].upper()
        if sql.lstrip().upper().startswith("WITH") and " INSERT INTO " in sql:
            verb = "INSERT"
        pattern = {
            "INSERT": r"INSERT (?:OR IGNORE )?INTO \"(\w+)\"",  # SQLite's ignore_conflicts
            "UPDATE": r"UPDATE \"(\w+)\"",
            "DELETE": r"FROM \"(\w+)\"",
        }
        if verb == "SELECT":
            # A scalar subquery in the select list (introspection's "APIs the asker serves") is
            # part of the statement, not the table it reads.
            sql = SCALAR_SUBQUERY.sub("", sql)
        table = re.search(pattern.get(verb, r"FROM \"(\w+)\""), sql)
        if verb in {"BEGIN", "COMMIT"}:
            named.append(verb)  # SQLite's BEGIN IMMEDIATE too
            continue
        named.append(f"{verb} {table.group(1) if table else '-'}")
    return named


queries_of_last_run: list[str] = []


def run(send, status: int = 200) -> list[str]:
    sent: list[str] = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(record):
        response = send()
    assert response.status_code == status, response.content[:300]
    if POSTGRES:
        # psycopg caches the parsing of statements up to this length only; a longer one is
        # parsed again on every execution (`server.hotpath` keeps its statements under it).
        from psycopg import _queries

        too_long = [sql[:80] for sql in sent if len(sql.encode()) > _queries.MAX_CACHED_STATEMENT_LENGTH]
        assert not too_long, too_long
    queries_of_last_run[:] = [query["sql"] for query in queries.captured_queries]
    return statements(queries)


def in_transaction(writes: list[str]) -> list[str]:
    """One statement needs no transaction around it (PostgreSQL's single statement is atomic)."""
    return writes if len(writes) == 1 else ["BEGIN", *writes, "COMMIT"]


def assert_event_rides_with_token(sql: list[str]) -> None:
    if POSTGRES:
        (insert,) = [q for q in sql if 'INSERT INTO "server_token"' in q]
        assert f'INSERT INTO "{AUDIT}"' in insert  # the event in the token's statement


@pytest.fixture
def app(make_client):
    return make_client("Query-count app")


def token_request(http, app_and_secret, **data):
    app, secret = app_and_secret
    return form(http, "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(app.client_id, secret))


def issue(http, app_and_secret, scope="profile") -> str:
    response = token_request(http, app_and_secret, grant_type="client_credentials", scope=scope)
    return response.json()["access_token"]


def test_client_credentials_token_is_one_select_and_one_insert(client, app):
    # The client with its secrets in one SELECT (autocommit). On PostgreSQL then one statement,
    # atomic in autocommit: it share-locks the client, stamps the token from the database clock,
    # and INSERTs the token and its audit event. On SQLite one transaction: the token's INSERT,
    # the event's id and INSERT, COMMIT.
    issue(client, app)
    known_clients.forget()  # as a worker that has not read this client yet
    found = run(lambda: token_request(client, app, grant_type="client_credentials", scope="read"))
    assert found == ["SELECT server_client", *in_transaction(TOKEN_AND_EVENT)]
    assert_event_rides_with_token(queries_of_last_run)


def test_a_clients_next_token_is_one_statement_on_postgresql(client, app):
    issue(client, app)
    found = run(lambda: token_request(client, app, grant_type="client_credentials", scope="read"))
    # On PostgreSQL the client is not read again: the token's statement confirms this worker's
    # copy of it (its row's version and the secret presented), in the same round trip.
    assert found == [*CLIENT_READ_AGAIN, *in_transaction(TOKEN_AND_EVENT)]
    assert_event_rides_with_token(queries_of_last_run)


def test_a_jwt_access_token_costs_one_select_of_the_signing_key_more(client, app, settings):
    settings.OAUTH2_ISSUER = "https://auth.example.test"
    settings.OAUTH2_ACCESS_TOKEN_FORMAT = "jwt"
    token = issue(client, app)
    found = run(lambda: token_request(client, app, grant_type="client_credentials", scope="read"))
    # The active signing key (RFC 9068 tokens are signed with the managed keys) before the
    # write; the token row and its event as for an opaque token (the digest of the JWT).
    assert found == [*CLIENT_READ_AGAIN, "SELECT server_signingkey", *in_transaction(TOKEN_AND_EVENT)]
    # Our own bearer check of a JWT is the opaque token's one indexed SELECT: no key, no crypto.
    client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert run(lambda: client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")) == ["SELECT server_token"]


def test_private_key_jwt_token_costs_what_a_first_secret_does(client, make_client):
    # The client's inline keys come with its row: no statement more than a secret's; the jti is
    # used up in the cache, not the database.
    _, send = key_client_sender(client, make_client)
    send()
    # Read every time: a client assertion is never answered with the worker's copy of its client
    # (its jti would be spent if the request had to be answered again: `provisional.eligible`).
    assert run(send) == ["SELECT server_client", *in_transaction(TOKEN_AND_EVENT)]


def test_introspection_with_a_client_assertion_is_one_select(client, make_client):
    # The asking client's keys and signing algorithm come with its row (`sql.ASKING_CLIENT_FIELDS`):
    # no second statement to read a deferred column when the assertion is checked.
    from tests.oidc.test_private_key_jwt import assertion, assertion_fields, public_jwks, rp_key

    key = rp_key()
    app, _ = make_client("Key app", token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))

    def post(path: str, data: dict):
        return form(client, path, {**data, **assertion_fields(assertion(app.client_id, key))})

    token = post("/oauth/token", {"grant_type": "client_credentials", "scope": "read"}).json()["access_token"]

    def introspect():
        return post("/oauth/introspect", {"token": token})

    assert introspect().json()["active"] is True
    assert run(introspect) == ["SELECT server_client"]


def test_bearer_check_is_one_select(client, app):
    token = issue(client, app)
    client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")  # first use: audited once
    found = run(lambda: client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}"))
    # Token, client and user in one indexed SELECT; a use within the audit window writes nothing.
    assert found == ["SELECT server_token"]


def test_introspection_is_one_select(client, app):
    token = issue(client, app)
    app_, secret = app
    auth = basic_auth(app_.client_id, secret)

    def send():
        return form(client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth)

    send()
    found = run(send)
    # The client with its secrets, and the token by either digest with its client and user, in
    # one statement (`server.hotpath.lookahead`; before: one SELECT each), with (a scalar
    # subquery of the same statement) the APIs the asking client serves as a resource server,
    # for the audience rule. (The client's authentication was audited on the first call; again
    # after AUDIT_CLIENT_AUTH_INTERVAL.)
    assert found == ["SELECT server_client"]
    assert 'FROM "server_token"' in queries_of_last_run[0]
    assert "server_api_resource_servers" in queries_of_last_run[0]


def test_introspection_of_an_unknown_token_is_one_select_too(client, app):
    app_, secret = app
    auth = basic_auth(app_.client_id, secret)

    def send():
        return form(client, "/oauth/introspect", {"token": "oat_unknown"}, HTTP_AUTHORIZATION=auth)

    send()
    assert run(send) == ["SELECT server_client"]  # none found: no second lookup


def test_revocation_is_one_select_and_one_update(client, app):
    app_, secret = app
    auth = basic_auth(app_.client_id, secret)
    tokens = [issue(client, app) for _ in range(2)]
    form(client, "/oauth/revoke", {"token": tokens[0]}, HTTP_AUTHORIZATION=auth)
    found = run(lambda: form(client, "/oauth/revoke", {"token": tokens[1]}, HTTP_AUTHORIZATION=auth))
    # The client and the token by either digest, in one SELECT (`server.hotpath.lookahead`;
    # before: one SELECT each). Then the row's conditional UPDATE (no client lock:
    # nothing of that row is in flight) and its `token_revoked` event: on PostgreSQL one
    # statement in autocommit (before issue 13's one statement: BEGIN, UPDATE, `nextval`,
    # INSERT, COMMIT), on SQLite one transaction.
    writes = ["UPDATE server_token"] if POSTGRES else ["UPDATE server_token", *AUDIT_WRITE]
    assert found == ["SELECT server_client", *in_transaction(writes)]
    if POSTGRES:
        (update,) = [q for q in queries_of_last_run if 'UPDATE "server_token"' in q]
        assert f'INSERT INTO "{AUDIT}"' in update


# A code exchanged: the client; the code. One transaction: the client lock (PostgreSQL: ordered
# against bulk revocation), the code claimed, the token, its event (which absorbed the client's
# authentication).
CODE_EXCHANGE = [
    "SELECT server_client",
    "SELECT server_authorizationcode",
    "BEGIN",
    *(["SELECT server_client"] if POSTGRES else []),
    "UPDATE server_authorizationcode",
    *TOKEN_AND_EVENT,
    "COMMIT",
]


@pytest.fixture
def signed_in(client, end_user):
    client.force_login(end_user)
    return client


def test_authorization_code_exchange(signed_in, app):
    app_, secret = app
    code, verifier = get_code(signed_in, app_.client_id)
    exchange_code(signed_in, app_.client_id, secret, code, verifier)  # warm-up
    code, verifier = get_code(signed_in, app_.client_id)
    found = run(lambda: exchange_code(signed_in, app_.client_id, secret, code, verifier))
    assert found == CODE_EXCHANGE


def test_the_openid_sign_in(signed_in, make_client):
    # The bench's `openid` scenario: a signed-in user whose consent is remembered signs in to an
    # OpenID relying party (bench.request_cost --endpoints openid measures the same three steps).
    from server.models import ClientSession
    from tests.server.helpers import authorize_url, pkce_pair, query_of

    rp, secret = make_client("Query-count RP", scope=["openid", "profile"])
    code, verifier = get_code(signed_in, rp.client_id, scope="openid profile")  # consent page
    token = exchange_code(signed_in, rp.client_id, secret, code, verifier).json()  # first key made
    signed_in.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")

    verifier, challenge = pkce_pair()
    url = authorize_url(rp.client_id, challenge, scope="openid profile", nonce="n-1")
    found = run(lambda: signed_in.get(url), status=302)
    # The session and its user (Django's); the client; the remembered consent (a statement
    # written once, `server.hotpath.sign_in`: before, a queryset compiled per request). Then the
    # code, the OP session's client (once per pair: a repeat is ignored) and its
    # `consent_granted` event: on PostgreSQL one statement in autocommit (the code's INSERT with
    # the two rows riding on it, `server.hotpath.riders`; before: BEGIN, three INSERTs, COMMIT),
    # on SQLite one transaction.
    writes = (
        ["INSERT server_authorizationcode"]
        if POSTGRES
        else ["INSERT server_clientsession", "INSERT server_authorizationcode", *AUDIT_WRITE]
    )
    assert found == [
        "SELECT django_session",
        "SELECT auth_user",
        "SELECT server_client",
        "SELECT server_consent",
        *in_transaction(writes),
    ]
    if POSTGRES:
        (insert,) = [q for q in queries_of_last_run if 'INSERT INTO "server_authorizationcode"' in q]
        assert 'INSERT INTO "server_clientsession"' in insert and "ON CONFLICT DO NOTHING" in insert
        assert f'INSERT INTO "{AUDIT}"' in insert
    code = query_of(signed_in.get(url)["Location"])["code"]
    # Three codes of one OP session: its client recorded once, for its logout.
    assert ClientSession.objects.filter(client=rp).count() == 1
    found = run(lambda: exchange_code(signed_in, rp.client_id, secret, code, verifier))
    # As a plain code exchange (the code with its user: one statement written once), then the
    # active signing key for the ID token (the same; before: querysets compiled per request).
    assert found == [*CODE_EXCHANGE, "SELECT server_signingkey"]
    assert " JOIN " in queries_of_last_run[1] and " ORDER BY " not in queries_of_last_run[-1]


def test_refresh_token_rotation(signed_in, app):
    app_, secret = app
    code, verifier = get_code(signed_in, app_.client_id)
    refresh = exchange_code(signed_in, app_.client_id, secret, code, verifier).json()["refresh_token"]
    refresh = token_request(signed_in, app, grant_type="refresh_token", refresh_token=refresh).json()[
        "refresh_token"
    ]
    found = run(lambda: token_request(signed_in, app, grant_type="refresh_token", refresh_token=refresh))
    lock = ["SELECT server_client"] if POSTGRES else []
    # The client; the refresh token. One transaction: the lock, the old token rotated, the new
    # one, its event.
    assert found == [
        "SELECT server_client",
        "SELECT server_token",
        "BEGIN",
        *lock,
        "UPDATE server_token",
        *TOKEN_AND_EVENT,
        "COMMIT",
    ]
    assert Token.objects.filter(rotated_at__isnull=True, refresh_token_digest__isnull=False).count() == 1


# --- the device flow (RFC 8628) -------------------------------------------------------------------


@pytest.fixture
def device_app(make_client):
    from tests.server.device_helpers import DEVICE_GRANTS

    return make_client("Query-count TV", redirect_uris=[], grant_types=DEVICE_GRANTS)


def _device_poll(http, device_app, device_code):
    from tests.server.device_helpers import poll

    return poll(http, device_app, device_code)


def test_device_authorization_request(client, device_app):
    from tests.server.device_helpers import start

    start(client, device_app)
    found = run(lambda: start(client, device_app))
    # The client; then one transaction: the device authorization and its audit event.
    assert found == [
        "SELECT server_client",
        "BEGIN",
        "INSERT server_deviceauthorization",
        *AUDIT_WRITE,
        "COMMIT",
    ]


@pytest.fixture
def public_device_app(make_client):
    from server.models import Client
    from tests.server.device_helpers import DEVICE_GRANTS

    return make_client(
        "Query-count CLI", client_type=Client.Type.PUBLIC, redirect_uris=[], grant_types=DEVICE_GRANTS
    )


@pytest.mark.parametrize("kind", ["confidential", "public"])
def test_a_pending_poll_is_one_select(client, request, kind, time_machine):
    from django.utils import timezone

    from tests.server.device_helpers import start

    device_app = request.getfixturevalue("device_app" if kind == "confidential" else "public_device_app")

    time_machine.move_to(timezone.now(), tick=False)
    code = start(client, device_app).json()["device_code"]
    assert _device_poll(client, device_app, code).json()["error"] == "authorization_pending"
    time_machine.shift(5)
    with CaptureQueriesContext(connection) as queries:
        response = _device_poll(client, device_app, code)
    assert response.json()["error"] == "authorization_pending"
    # The device by digest with its client (and the client's secret digests: its authentication
    # needs no query of its own) and user: one SELECT. The poll is recorded in the shared cache
    # (`services.record_device_poll`). Nothing is audited: waiting is not a refusal. Before
    # (issue 16's "a bare SELECT each"): the client; the device; an UPDATE stamping the poll.
    assert statements(queries) == ["SELECT server_deviceauthorization"]
    (select,) = queries.captured_queries
    assert "server_client" in select["sql"] and "server_clientsecret" in select["sql"]


def test_slow_down_is_one_select(client, device_app, time_machine):
    from django.utils import timezone

    from tests.server.device_helpers import start

    time_machine.move_to(timezone.now(), tick=False)
    code = start(client, device_app).json()["device_code"]
    _device_poll(client, device_app, code)
    with CaptureQueriesContext(connection) as queries:
        response = _device_poll(client, device_app, code)
    assert response.json()["error"] == "slow_down"
    # Before: the client; the device; two UPDATEs (the stamp refused, the interval grown).
    assert statements(queries) == ["SELECT server_deviceauthorization"]


def test_the_poll_that_collects_the_token(client, device_app, end_user):
    from server import services
    from server.models import DeviceAuthorization
    from tests.server.device_helpers import start

    codes = [start(client, device_app).json()["device_code"] for _ in range(2)]
    for device in DeviceAuthorization.objects.all():
        services.approve_device_authorization(device, user=end_user)
    _device_poll(client, device_app, codes[0])  # warm-up
    found = run(lambda: _device_poll(client, device_app, codes[1]))
    lock = ["SELECT server_client"] if POSTGRES else []
    # The device with its client and user (one SELECT; before: the client, then the device);
    # one transaction: the client lock, the device claimed, the token, its event.
    assert found == [
        "SELECT server_deviceauthorization",
        "BEGIN",
        *lock,
        "UPDATE server_deviceauthorization",
        *TOKEN_AND_EVENT,
        "COMMIT",
    ]
