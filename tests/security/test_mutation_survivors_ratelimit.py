"""Tests written to kill the mutants `make mutation` found surviving in server/ratelimit/.

Each test names the mutants it kills (mutmut's names, see docs/testing.md); the survivors that no
test should kill are explained in tests/mutation_survivors.txt.
"""

import logging

import pytest

from server import ratelimit
from server.ratelimit import counters

pytestmark = pytest.mark.django_db


# --- the cache-outage guard ---------------------------------------------------------------------


def test_a_new_guard_is_available_and_a_failure_makes_it_unavailable_once(caplog):
    """Kills counters.xǁ_CacheGuardǁ__init____mutmut_1 (no start time) and _3 (no lock)."""
    guard = counters._CacheGuard()
    assert guard.available is True
    with caplog.at_level(logging.WARNING, logger="server.ratelimit"):
        guard.failed(RuntimeError("first"))
        assert guard.available is False
        guard.failed(RuntimeError("second"))
    messages = [r.getMessage() for r in caplog.records if r.name == "server.ratelimit"]
    assert messages == [
        "rate limiting skipped: the cache is unavailable (RuntimeError: first); requests are allowed"
    ]
    guard.reset()
    assert guard.available is True


@pytest.fixture
def broken_counter(monkeypatch):
    """`count` fails as a cache that went away would; the guard is reset after the test."""

    def count(*args, **kwargs):
        raise ConnectionRefusedError("the cache went away")

    monkeypatch.setattr(ratelimit, "count", count)
    yield
    ratelimit.cache_guard.reset()


def test_a_sign_up_during_a_cache_outage_is_allowed_and_the_error_is_logged(
    settings, broken_counter, client, caplog
):
    """Kills server.ratelimit.x_throttle_form_post__mutmut_17 (the exception not passed on)."""
    settings.PORTAL_SELF_SIGNUP = True
    data = {
        "username": "newdev",
        "email": "new@example.com",
        "password1": "a-Long-pass-phrase-42",
        "password2": "a-Long-pass-phrase-42",
    }
    with caplog.at_level(logging.WARNING, logger="server.ratelimit"):
        response = client.post("/developers/signup/", data, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302
    messages = [r.getMessage() for r in caplog.records if r.name == "server.ratelimit"]
    assert messages == [
        "rate limiting skipped: the cache is unavailable (ConnectionRefusedError: the cache went away); "
        "requests are allowed"
    ]
    assert ratelimit.cache_guard.available is False
