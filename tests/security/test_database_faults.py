"""Faults: the database goes away, then comes back. Protocol endpoints answer 503
`temporarily_unavailable` as JSON (no traceback, no debug page) and recover by themselves."""

import base64
import contextlib
import json
import threading

import pytest
import requests
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connection, connections

from server.models import Token
from tests.security.conftest import basic

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def database_unreachable():
    """Every query on this thread's connection fails as if the server were gone."""

    def refuse(execute, sql, params, many, context):
        raise OperationalError("could not connect to server: Connection refused")

    with connection.execute_wrapper(refuse):
        yield


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


def test_database_outage_answers_503_json_at_every_protocol_endpoint_and_recovers(client, issued):
    app, secret, token = issued
    calls = requests_to_every_protocol_endpoint(app, secret, token)
    with database_unreachable():
        for method, path, body, content_type, headers in calls:
            assert_unavailable(send(client, method, path, body, content_type, headers))
    # The database is back: the very next requests work, with nothing to restart.
    response = send(client, *calls[0][:2], *calls[0][2:])
    assert response.status_code == 200
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert Token.objects.count() == 2


def test_database_outage_mid_request_rolls_back_and_answers_503(client, confidential):
    """The outage starts after the client was authenticated: the token INSERT fails, nothing is
    half-written, and the client gets a 503 it can retry."""
    app, secret = confidential

    def fail_on_insert(execute, sql, params, many, context):
        # (On PostgreSQL the INSERT begins with a CTE that locks the client row.)
        if 'INSERT INTO "server_token"' in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_on_insert):
        response = client.post(
            "/oauth/token",
            "grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic_header(app.client_id, secret),
        )
    assert_unavailable(response)
    assert Token.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database server to take away")
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
        results = []

        def call():
            results.append(
                requests.post(
                    live + "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=basic(app.client_id, secret),
                    timeout=30,
                )
            )
            results.append(
                requests.get(
                    live + "/api/me",
                    headers={"Authorization": f"Bearer {ok.json()['access_token']}"},
                    timeout=30,
                )
            )

        worker = threading.Thread(target=call)
        worker.start()
        worker.join(60)
        for response in results:
            assert response.status_code == 503, (response.status_code, response.text[:300])
            assert response.json()["error"] == "temporarily_unavailable"
    finally:
        connections.settings["default"].clear()
        connections.settings["default"].update(original)
    again = requests.post(
        live + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=basic(app.client_id, secret),
        timeout=10,
    )
    assert again.status_code == 200


def test_a_value_the_database_refuses_is_a_400_not_an_outage(client, confidential):
    """A DataError (PostgreSQL refuses NUL bytes in text) is bad input that got past validation:
    the client must not be told to retry, as a 503 would."""
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


def test_database_outage_at_the_authorization_page_is_a_readable_503(client, confidential, end_user):
    app, _secret = confidential
    client.force_login(end_user)
    url = (
        f"/oauth/authorize?response_type=code&client_id={app.client_id}"
        "&redirect_uri=https://app.example.com/callback&code_challenge="
        + "a" * 43
        + "&code_challenge_method=S256"
    )
    with database_unreachable():
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Sign-in is briefly unavailable" in response.content.decode()
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
