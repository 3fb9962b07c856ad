"""Faults: the database goes away, then comes back. Protocol endpoints answer 503
`temporarily_unavailable` as JSON (no traceback, no debug page) and recover by themselves.

The outages are real, on PostgreSQL: a second connection, as the superuser, cuts the server's
connections with `pg_terminate_backend` (between requests, in the middle of one, and under load),
or the live server is sent to a port where nothing listens. Only the refused-value case below
injects its error, because validation keeps such values from ever reaching the database."""

import base64
import json
import threading
from types import SimpleNamespace

import pytest
import requests
from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    close_old_connections,
    connection,
    connections,
)

from oauth_console.db.postgresql import base as postgresql_backend
from server.models import Token
from tests.security.conftest import basic
from tests.security.faults import (
    WAIT_SECONDS,
    DatabaseAdministrator,
    Worker,
    connect_to_test_database,
    finish,
)

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="cutting connections needs a PostgreSQL server (set DATABASE_URL=postgres://...)",
)


@pytest.fixture
def dba():
    with connect_to_test_database() as conn:
        yield DatabaseAdministrator(conn)
    # If the test failed with the test's own connection cut, let teardown open a fresh one.
    connection.close()


def cut_own_connection(dba: DatabaseAdministrator) -> None:
    """Cut the connection this thread (and so the test client's requests) uses."""
    connection.ensure_connection()
    dba.cut({connection.connection.info.backend_pid})


def end_of_request() -> None:
    """What a WSGI server does after each response: Django's `close_old_connections` drops a
    connection that saw an error and no longer answers. (The test client skips it on purpose.)"""
    close_old_connections()


def basic_header(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def assert_unavailable(response):
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["error"] == "temporarily_unavailable"
    assert (
        "Traceback" not in response.content.decode() and "OperationalError" not in response.content.decode()
    )
    assert int(response["Retry-After"]) > 0
    assert response["Cache-Control"] == "no-store"


def assert_unavailable_over_http(response: requests.Response):
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.json()["error"] == "temporarily_unavailable"
    assert "Traceback" not in response.text
    assert int(response.headers["Retry-After"]) > 0


@pytest.fixture
def issued(client, confidential):
    app, secret = confidential
    response = client.post(
        "/oauth/token",
        "grant_type=client_credentials&scope=profile",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_header(app.client_id, secret),
    )
    assert response.status_code == 200
    return app, secret, response.json()["access_token"]


def requests_to_every_protocol_endpoint(app, secret, token):
    form = "application/x-www-form-urlencoded"
    auth = {"HTTP_AUTHORIZATION": basic_header(app.client_id, secret)}
    return [
        ("post", "/oauth/token", "grant_type=client_credentials", form, auth),
        ("post", "/oauth/token", "grant_type=refresh_token&refresh_token=ort_x", form, auth),
        (
            "post",
            "/oauth/token",
            "grant_type=authorization_code&code=oac_x&code_verifier=" + "v" * 43,
            form,
            auth,
        ),
        ("post", "/oauth/revoke", f"token={token}", form, auth),
        ("post", "/oauth/introspect", f"token={token}", form, auth),
        ("get", "/api/me", None, None, {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
        ("post", "/oauth/register", "{}", "application/json", {"HTTP_AUTHORIZATION": "Bearer oia_x"}),
        ("get", f"/oauth/register/{app.client_id}", None, None, {"HTTP_AUTHORIZATION": "Bearer org_x"}),
    ]


def send(client, method, path, body, content_type, headers):
    if method == "get":
        return client.get(path, **headers)
    return client.post(path, body, content_type=content_type, **headers)


@pytest.mark.postgres
@postgresql_only
def test_connection_cut_between_requests_answers_503_json_at_every_protocol_endpoint_and_recovers(
    client, issued, dba
):
    """A persistent connection (CONN_MAX_AGE) dies moments after its last request, too soon for
    the idle health check (DB_HEALTH_CHECK_AFTER_IDLE): the request that finds it dead gets a
    503, and the one after it reconnects."""
    app, secret, token = issued
    for method, path, body, content_type, headers in requests_to_every_protocol_endpoint(app, secret, token):
        cut_own_connection(dba)
        assert_unavailable(send(client, method, path, body, content_type, headers))
        end_of_request()
    # The database is back: the very next requests work, with nothing to restart.
    response = send(client, *requests_to_every_protocol_endpoint(app, secret, token)[0])
    assert response.status_code == 200
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert Token.objects.count() == 2


@pytest.mark.postgres
@postgresql_only
def test_connection_cut_while_idle_is_caught_by_the_health_check_and_costs_no_request(
    client, issued, dba, settings, monkeypatch
):
    """The connection dies after sitting idle longer than DB_HEALTH_CHECK_AFTER_IDLE (a database
    restart overnight): the next request's health check finds it dead and reconnects first."""
    app, secret, token = issued
    token_request = requests_to_every_protocol_endpoint(app, secret, token)[0]
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 5
    # The backend's clock (its seam), moved by the test: idle time is not waited out.
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(postgresql_backend, "time", SimpleNamespace(monotonic=lambda: clock.now))
    end_of_request()
    assert send(client, *token_request).status_code == 200
    cut_own_connection(dba)
    end_of_request()
    clock.now += 6
    response = send(client, *token_request)
    assert response.status_code == 200, response.content[:300]
    assert Token.objects.count() == 3  # issued, and one per request here


@pytest.mark.postgres
@postgresql_only
def test_connection_cut_mid_request_rolls_back_and_answers_503_then_recovers(live, confidential, dba):
    """The cut comes after the client was authenticated, while its token INSERT waits on the
    client row: nothing is half-written, and the client gets a 503 it can retry."""
    app, secret = confidential

    def token_request():
        return requests.post(
            live + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=basic(app.client_id, secret),
            timeout=WAIT_SECONDS,
        )

    # The INSERT starts by taking the client row FOR KEY SHARE (server/statements.py).
    with dba.holding("SELECT id FROM server_client WHERE id = %s FOR UPDATE", [app.pk]):
        worker = Worker(token_request)
        worker.start()
        dba.cut(dba.waiting_for_a_lock(1))
    [response] = finish([worker])
    assert_unavailable_over_http(response)
    assert Token.objects.count() == 0
    assert token_request().status_code == 200
    assert Token.objects.count() == 1


@pytest.mark.postgres
@postgresql_only
def test_connections_cut_under_load_every_request_answers_and_all_recover(live, confidential, dba):
    """Eight requests at three endpoints are in flight, each stopped on the token table, when
    every one of their connections is cut: each gets a 503 (no 500, no dropped socket), and each
    client's next request succeeds."""
    app, secret = confidential
    issued = requests.post(
        live + "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "profile"},
        auth=basic(app.client_id, secret),
        timeout=WAIT_SECONDS,
    )
    assert issued.status_code == 200
    token = issued.json()["access_token"]
    calls = {
        "token": lambda: requests.post(
            live + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=basic(app.client_id, secret),
            timeout=WAIT_SECONDS,
        ),
        "introspect": lambda: requests.post(
            live + "/oauth/introspect",
            data={"token": token},
            auth=basic(app.client_id, secret),
            timeout=WAIT_SECONDS,
        ),
        "userinfo": lambda: requests.get(
            live + "/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=WAIT_SECONDS
        ),
    }
    kinds = [list(calls)[i % len(calls)] for i in range(8)]
    recovered = threading.Event()

    def client_session(kind):
        def run():
            during = calls[kind]()
            assert recovered.wait(WAIT_SECONDS)
            return during, calls[kind]()

        return run

    with dba.holding("LOCK TABLE server_token IN ACCESS EXCLUSIVE MODE"):
        workers = [Worker(client_session(kind)) for kind in kinds]
        for worker in workers:
            worker.start()
        dba.cut(dba.waiting_for_a_lock(len(workers)))
    recovered.set()
    results = finish(workers)

    assert len(results) == len(workers) == 8
    for kind, (during, after) in zip(kinds, results, strict=True):
        assert_unavailable_over_http(during)
        assert after.status_code == 200, (kind, after.status_code, after.text[:300])
    introspected = [
        after.json() for kind, (_, after) in zip(kinds, results, strict=True) if kind == "introspect"
    ]
    assert introspected and all(body["active"] for body in introspected)
    # The one token issued before, and one for each token request after the recovery.
    assert Token.objects.count() == 1 + kinds.count("token")


@pytest.mark.postgres
@postgresql_only
def test_postgresql_server_unreachable_over_http_then_back(live, confidential, settings):
    """Black box: the live server's new connections go to a port where nothing listens."""
    app, secret = confidential
    settings.CONN_MAX_AGE = 0
    original = dict(connections.settings["default"])
    ok = requests.post(
        live + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=basic(app.client_id, secret),
        timeout=10,
    )
    assert ok.status_code == 200
    connections.settings["default"]["PORT"] = "1"
    try:
        # The live server handles each request in a new thread, with a new connection.
        def call():
            return [
                requests.post(
                    live + "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=basic(app.client_id, secret),
                    timeout=WAIT_SECONDS,
                ),
                requests.get(
                    live + "/api/me",
                    headers={"Authorization": f"Bearer {ok.json()['access_token']}"},
                    timeout=WAIT_SECONDS,
                ),
            ]

        worker = Worker(call)
        worker.start()
        [results] = finish([worker])
    finally:
        connections.settings["default"].clear()
        connections.settings["default"].update(original)
    assert len(results) == 2
    for response in results:
        assert_unavailable_over_http(response)
    again = requests.post(
        live + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=basic(app.client_id, secret),
        timeout=10,
    )
    assert again.status_code == 200


def test_a_value_the_database_refuses_is_a_400_not_an_outage(client, confidential):
    """A DataError (PostgreSQL refuses NUL bytes in text) is bad input that got past validation:
    the client must not be told to retry, as a 503 would. Injected: validation refuses such
    values first, so no real request can make the database raise it."""
    app, secret = confidential

    def refuse_value(execute, sql, params, many, context):
        raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")

    with connection.execute_wrapper(refuse_value):
        response = client.post(
            "/oauth/token",
            "grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic_header(app.client_id, secret),
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.postgres
@postgresql_only
def test_connection_cut_at_the_authorization_page_is_a_readable_503(client, confidential, end_user, dba):
    app, _secret = confidential
    client.force_login(end_user)
    url = (
        f"/oauth/authorize?response_type=code&client_id={app.client_id}"
        "&redirect_uri=https://app.example.com/callback&code_challenge="
        + "a" * 43
        + "&code_challenge_method=S256"
    )
    cut_own_connection(dba)
    response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Sign-in is briefly unavailable" in response.content.decode()
    end_of_request()
    assert client.get(url).status_code == 200  # back by itself


def authorization_url(app):
    return (
        f"/oauth/authorize?response_type=code&client_id={app.client_id}"
        "&redirect_uri=https://app.example.com/callback&scope=profile&code_challenge="
        + "a" * 43
        + "&code_challenge_method=S256"
    )


@pytest.mark.parametrize("error_class", [DataError, IntegrityError])
def test_a_value_the_database_refuses_at_the_authorization_page_is_not_an_outage(
    client, confidential, end_user, caplog, error_class
):
    """PostgreSQL refused a value (a nonce longer than its column was the reviewer's case): a
    400 that names bad input, not "cannot reach its database" and a Retry-After."""
    app, _secret = confidential
    client.force_login(end_user)

    def refuse_code(execute, sql, params, many, context):
        if 'INSERT INTO "server_authorizationcode"' in sql:
            raise error_class("value too long for type character varying(255)")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_code):
        response = client.post(authorization_url(app), {"confirm": "yes"})
    assert response.status_code == 400, response.status_code
    assert "Retry-After" not in response
    page = response.content.decode()
    assert "cannot reach its database" not in page and "briefly unavailable" not in page
    assert "invalid_request" in page
    assert not any("unavailable" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("error_class", [DataError, IntegrityError])
def test_a_refused_value_at_a_protocol_endpoint_is_a_400_json(client, confidential, error_class):
    app, secret = confidential

    def refuse_token(execute, sql, params, many, context):
        if 'INSERT INTO "server_token"' in sql:
            raise error_class("duplicate key value violates unique constraint")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_token):
        response = client.post(
            "/oauth/token",
            "grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic_header(app.client_id, secret),
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "Retry-After" not in response
    assert Token.objects.count() == 0


def test_a_broken_connection_is_an_outage(client, confidential):
    app, secret = confidential

    def broken(execute, sql, params, many, context):
        raise InterfaceError("connection already closed")

    with connection.execute_wrapper(broken):
        response = client.post(
            "/oauth/token",
            "grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic_header(app.client_id, secret),
        )
    assert_unavailable(response)
