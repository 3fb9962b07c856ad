"""The PostgreSQL backend's health check runs only after the connection sat idle."""

import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's behaviour"),
]


@pytest.fixture
def checks(monkeypatch):
    """Count health checks; start as a new request on a connection that was never used."""
    db = connections[DEFAULT_DB_ALIAS]
    db.ensure_connection()
    calls = []
    monkeypatch.setattr(db, "is_usable", lambda: calls.append(1) or True)
    monkeypatch.setattr(db, "health_check_enabled", True, raising=False)
    monkeypatch.setattr(db, "last_used_at", float("-inf"))
    return calls


def new_request():
    connection.health_check_done = False  # what Django does when a request starts


def test_a_busy_connection_is_not_checked_again(checks, settings):
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 5
    assert type(connections[DEFAULT_DB_ALIAS]).__module__ == "oauth_console.db.postgresql.base"
    new_request()
    connection.close_if_health_check_failed()
    assert len(checks) == 1  # never used: checked
    new_request()
    connection.close_if_health_check_failed()
    assert len(checks) == 1  # used a moment ago: trusted


def test_an_idle_connection_is_checked(checks, settings):
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 5
    connections[DEFAULT_DB_ALIAS].last_used_at = time.monotonic() - 6
    new_request()
    connection.close_if_health_check_failed()
    assert len(checks) == 1


def test_zero_checks_every_request_as_django_does(checks, settings):
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 0
    for _ in range(3):
        new_request()
        connection.close_if_health_check_failed()
    assert len(checks) == 3


def test_a_failed_check_closes_the_connection(checks, settings, monkeypatch):
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 5
    db = connections[DEFAULT_DB_ALIAS]
    monkeypatch.setattr(db, "is_usable", lambda: False)
    closed = []
    monkeypatch.setattr(db, "close", lambda: closed.append(1))
    new_request()
    connection.close_if_health_check_failed()
    assert closed == [1]
