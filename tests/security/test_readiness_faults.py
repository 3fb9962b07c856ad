"""Faults seen by /readyz: the database goes away (PostgreSQL: its connection cut, then pointed at
a port where nothing listens) and the cache stops (a Redis of the test's own). /readyz answers 503
naming the part that failed while it is down, and 200 once it is back, with nothing restarted;
the protocol endpoints' outage is counted in /metrics (oauth_backing_service_errors_total)."""

import uuid

import pytest
from django.db import close_old_connections, connection

from oauth_console import health
from tests.console.operations.scraping import delta, scrape
from tests.security.faults import DatabaseAdministrator, connect_to_test_database
from tests.security.test_redis_faults import OwnRedis, own_redis, spare_port  # noqa: F401  (fixture)
from tests.server.helpers import basic_auth, form

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="taking the database away needs a PostgreSQL server (set DATABASE_URL=postgres://...)",
)


@pytest.fixture(autouse=True)
def _migrations_not_yet_verified(monkeypatch):
    monkeypatch.setattr(health, "_migrated", set())


def assert_not_ready(response, part: str):
    assert response.status_code == 503, (response.status_code, response.content[:300])
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == [part]
    assert body["checks"][part]["ok"] is False
    assert "Traceback" not in response.content.decode()


def assert_ready(response):
    assert response.status_code == 200, response.content[:300]
    assert response.json()["failing"] == []


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_while_the_database_connection_is_cut_then_200(client, make_client):
    app, secret = make_client()
    assert_ready(client.get("/readyz"))
    before = scrape(client)

    with connect_to_test_database() as admin:
        connection.ensure_connection()
        DatabaseAdministrator(admin).cut({connection.connection.info.backend_pid})

    response = client.get("/readyz")
    assert_not_ready(response, "database")
    assert response.json()["checks"]["database"]["error"].startswith("default: ")
    assert response.json()["checks"]["migrations"]["ok"] is None  # not checked without a database

    # Back at once: the probe dropped the dead connection, the next one connects afresh.
    assert_ready(client.get("/readyz"))
    assert delta(before, scrape(client), "oauth_backing_service_errors_total", service="database") == 0

    # A token request meeting the same outage is a 503 of its own, and counted.
    with connect_to_test_database() as admin:
        connection.ensure_connection()
        DatabaseAdministrator(admin).cut({connection.connection.info.backend_pid})
    auth = basic_auth(app.client_id, secret)
    response = form(client, "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 503
    close_old_connections()  # what a WSGI server does at the end of each request
    assert delta(before, scrape(client), "oauth_backing_service_errors_total", service="database") == 1
    assert_ready(client.get("/readyz"))


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_while_nothing_listens_at_the_database_address_then_200(client):
    assert_ready(client.get("/readyz"))
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = spare_port()  # nothing listens there
    try:
        assert_not_ready(client.get("/readyz"), "database")
        assert_not_ready(client.get("/readyz"), "database")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert_ready(client.get("/readyz"))


@pytest.mark.django_db
def test_readyz_is_503_while_the_cache_is_stopped_then_200(client, own_redis, settings, make_client):  # noqa: F811
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
            "KEY_PREFIX": f"test-readiness-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    app, secret = make_client()
    assert_ready(client.get("/readyz"))
    before = scrape(client)

    own_redis.stop()
    response = client.get("/readyz")
    assert_not_ready(response, "cache")
    assert response.json()["checks"]["cache"]["error"] == "default: ConnectionError"
    assert response.json()["checks"]["database"]["ok"] is True
    # The limiter meets the outage too: it lets the request through, and it is counted.
    auth = basic_auth(app.client_id, secret)
    response = form(client, "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert delta(before, scrape(client), "oauth_backing_service_errors_total", service="cache") == 1

    own_redis.start()
    assert_ready(client.get("/readyz"))
