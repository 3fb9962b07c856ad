"""The PostgreSQL backend's health check runs only after the connection sat idle."""

from types import SimpleNamespace

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from oauth_console.db.postgresql import base

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's behaviour"),
]


@pytest.fixture
def clock(monkeypatch):
    """The backend's monotonic clock, moved by the test (not by how busy the machine is)."""
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(base, "time", SimpleNamespace(monotonic=lambda: clock.now))
    return clock


@pytest.fixture
def checks(monkeypatch, clock):
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


def test_a_busy_connection_is_not_checked_again(checks, clock, settings):
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 5
    assert type(connections[DEFAULT_DB_ALIAS]).__module__ == "oauth_console.db.postgresql.base"
    new_request()
    connection.close_if_health_check_failed()
    assert len(checks) == 1  # never used: checked
    clock.now += 4.9
    new_request()
    connection.close_if_health_check_failed()
    assert len(checks) == 1  # used under 5 s ago: trusted
    clock.now += 4.9
    new_request()
    connection.close_if_health_check_failed()
    assert len(checks) == 1  # each request restarts the idle time


def test_an_idle_connection_is_checked(checks, clock, settings):
    settings.DB_HEALTH_CHECK_AFTER_IDLE = 5
    new_request()
    connection.close_if_health_check_failed()
    assert len(checks) == 1
    clock.now += 5  # idle for the whole limit
    new_request()
    connection.close_if_health_check_failed()
    assert len(checks) == 2


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
