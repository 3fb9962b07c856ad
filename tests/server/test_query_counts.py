"""The statements each protocol endpoint runs, pinned (docs/architecture.md, "Hot paths").

Every request is sent once first: first-use work (content types, the session) is not what a
request costs. Statements are named "VERB table" so a failure says what changed. PostgreSQL
runs a few more than SQLite where it must order writers explicitly: bulk revocation locks the
client rows and reads the database clock (`services.revoke_tokens`).
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from server.models import Token
from tests.server.helpers import basic_auth, exchange_code, form, get_code

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = connection.vendor == "postgresql"
AUDIT = "audit_auditevent"
# Writing audit events: their ids are taken first (the sequence on PostgreSQL, the table's
# AUTOINCREMENT counter on SQLite), so that each row's position hash can cover its id (issue 11,
# item 8); then one INSERT. With write-behind (production) both run on the writer thread, once
# per batch, not in the request.
AUDIT_WRITE = ["SELECT -" if POSTGRES else "SELECT sqlite_sequence", f"INSERT {AUDIT}"]
# Where a statement names its (first) table.
TABLE_AFTER = {"INSERT": r'INSERT INTO "(\w+)"', "UPDATE": r'UPDATE "(\w+)"', "SELECT": r'FROM "(\w+)"'}


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
            "INSERT": r"INSERT INTO \"(\w+)\"",
            "UPDATE": r"UPDATE \"(\w+)\"",
            "DELETE": r"FROM \"(\w+)\"",
        }
        table = re.search(pattern.get(verb, r"FROM \"(\w+)\""), sql)
        if verb in {"BEGIN", "COMMIT"}:
            continue  # SQLite logs its transaction statements, PostgreSQL's driver does not
        named.append(f"{verb} {table.group(1) if table else '-'}")
    return named


def run(send) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = send()
    assert response.status_code == 200, response.content[:300]
    return statements(queries)


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
    issue(client, app)
    found = run(lambda: token_request(client, app, grant_type="client_credentials", scope="read"))
    # The client with its secrets in one SELECT; the token in one INSERT (on PostgreSQL the
    # same statement share-locks the client); the audit event.
    assert found == ["SELECT server_client", "INSERT server_token", *AUDIT_WRITE]


def test_private_key_jwt_token_costs_what_a_secret_does(client, make_client):
    # The client's inline keys come with its row: no statement more than a secret's; the jti is
    # used up in the cache, not the database.
    from tests.oidc.test_private_key_jwt import assertion, assertion_fields, public_jwks, rp_key

    key = rp_key()
    app, _ = make_client("Key app", token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))

    def send():
        data = {
            "grant_type": "client_credentials",
            "scope": "read",
            **assertion_fields(assertion(app.client_id, key)),
        }
        return form(client, "/oauth/token", data)

    send()
    assert run(send) == ["SELECT server_client", "INSERT server_token", *AUDIT_WRITE]


def test_bearer_check_is_one_select(client, app):
    token = issue(client, app)
    client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")  # first use: audited once
    found = run(lambda: client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}"))
    # Token, client and user in one indexed SELECT; a use within the audit window writes nothing.
    assert found == ["SELECT server_token"]


def test_introspection_is_two_selects(client, app):
    token = issue(client, app)
    app_, secret = app
    auth = basic_auth(app_.client_id, secret)

    def send():
        return form(client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth)

    send()
    found = run(send)
    # The client with its secrets; the token by either digest with its client and user. (The
    # client's authentication was audited on the first call; again after AUDIT_CLIENT_AUTH_INTERVAL.)
    assert found == ["SELECT server_client", "SELECT server_token"]


def test_revocation_is_two_selects_and_one_update(client, app):
    app_, secret = app
    auth = basic_auth(app_.client_id, secret)
    tokens = [issue(client, app) for _ in range(2)]
    form(client, "/oauth/revoke", {"token": tokens[0]}, HTTP_AUTHORIZATION=auth)
    found = run(lambda: form(client, "/oauth/revoke", {"token": tokens[1]}, HTTP_AUTHORIZATION=auth))
    # One row's conditional UPDATE: no client lock (nothing of that row is in flight).
    assert found == ["SELECT server_client", "SELECT server_token", "UPDATE server_token", *AUDIT_WRITE]


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
    lock = ["SELECT server_client"] if POSTGRES else []  # ordered against bulk revocation
    assert found == [
        "SELECT server_client",
        "SELECT server_authorizationcode",
        *lock,
        "UPDATE server_authorizationcode",
        "INSERT server_token",
        *AUDIT_WRITE,
    ]


def test_refresh_token_rotation(signed_in, app):
    app_, secret = app
    code, verifier = get_code(signed_in, app_.client_id)
    refresh = exchange_code(signed_in, app_.client_id, secret, code, verifier).json()["refresh_token"]
    refresh = token_request(signed_in, app, grant_type="refresh_token", refresh_token=refresh).json()[
        "refresh_token"
    ]
    found = run(lambda: token_request(signed_in, app, grant_type="refresh_token", refresh_token=refresh))
    lock = ["SELECT server_client"] if POSTGRES else []
    assert found == [
        "SELECT server_client",
        "SELECT server_token",
        *lock,
        "UPDATE server_token",
        "INSERT server_token",
        *AUDIT_WRITE,
    ]
    assert Token.objects.filter(rotated_at__isnull=True, refresh_token_digest__isnull=False).count() == 1
