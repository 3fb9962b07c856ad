"""Faults: the rate limiter's Redis stops, then comes back.

The Redis is the test's own (a `redis-server` on a spare port, started and stopped by the
fixture), configured as production configures it (oauth_console/settings/base.py). While it is down
the limiter fails open: requests are served, never a 500, and the outage is logged once. Once
it is back, and the limiter's retry delay has passed, requests are counted and throttled again.
The clock is frozen (time-machine), so the retry delay and the limit's window are the test's
to move, not the machine's speed."""

import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
import redis

from server.ratelimit import counters
from server.ratelimit.counters import CACHE_RETRY_SECONDS
from tests.server.helpers import basic_auth

pytestmark = pytest.mark.django_db

# A bound on waiting for Redis to start or stop, not a budget the test measures.
WAIT_SECONDS = 30
# One second into a window of every limit (all divide an hour), so the counts never straddle one.
PINNED = datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC)


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A redis-server of this test's alone: no persistence, so a restart comes back empty."""

    def __init__(self, directory):
        self.port = spare_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)

    def start(self) -> None:
        options = {"port": self.port, "bind": "127.0.0.1", "save": "", "appendonly": "no", "daemonize": "no"}
        command = [shutil.which("redis-server"), "--dir", str(self.directory)]
        for name, value in options.items():
            command += [f"--{name}", str(value)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited at start"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(WAIT_SECONDS)
        self.process = None
        with pytest.raises(redis.ConnectionError):
            self.client().ping()

    def counters(self) -> list[bytes]:
        return self.client().keys("*ratelimit:token_ip:*")


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        reason = "needs redis-server on PATH to start a Redis of the test's own (apt install redis-server)"
        if os.environ.get("CI"):  # CI has it (.ci/run): missing there is a failure, not a skip
            pytest.fail(reason)
        pytest.skip(reason)
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.process.terminate()
        server.process.wait(WAIT_SECONDS)


@pytest.fixture
def limiter_on_own_redis(own_redis, settings, time_machine, monkeypatch):
    """The cache (and so the limiter's counters) on the test's Redis, with production's options;
    the clock frozen at PINNED: the wall clock (time-machine), and the monotonic clock of the
    limiter's retry delay, which time-machine leaves alone, made to follow it through the
    limiter's seam (its module's `time`)."""
    # Checked at fixture time, not import time: pytest-django's settings override applies per test.
    assert settings.OAUTH2_RATE_LIMIT_CACHE == "default"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": own_redis.url,
            "KEY_PREFIX": f"test-redis-faults-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "token_ip": "2/60"}
    time_machine.move_to(PINNED, tick=False)
    monkeypatch.setattr(counters, "time", SimpleNamespace(monotonic=time.time))
    return own_redis


def client_credentials(http, app, secret):
    return http.post(
        "/oauth/token",
        urlencode({"grant_type": "client_credentials", "scope": "profile"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )


def assert_throttled(response):
    assert response.status_code == 429, response.content[:300]
    assert response.json()["error"] == "slow_down"


def test_limiter_fails_open_while_redis_is_stopped_and_counts_again_once_it_is_back(
    limiter_on_own_redis, client, confidential, end_user, caplog, time_machine
):
    own_redis = limiter_on_own_redis
    app, secret = confidential

    # Redis up: the limit (2 a minute) is counted in Redis and enforced.
    first = client_credentials(client, app, secret)
    assert first.status_code == 200
    assert client_credentials(client, app, secret).status_code == 200
    assert_throttled(client_credentials(client, app, secret))
    assert own_redis.counters()
    token = first.json()["access_token"]

    # Redis stopped: over the limit, and still served; other cache users keep working; logged once.
    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="server.ratelimit"):
        for _ in range(3):
            assert client_credentials(client, app, secret).status_code == 200
        assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
        response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-123"})
        assert response.status_code == 302
    warnings = [r.getMessage() for r in caplog.records if r.name == "server.ratelimit"]
    assert len(warnings) == 1, warnings
    assert "cache is unavailable" in warnings[0]

    # Redis back (empty: it kept nothing). Until the retry delay has passed the limiter leaves the
    # cache alone, so this request is served and not counted.
    own_redis.start()
    assert client_credentials(client, app, secret).status_code == 200
    assert own_redis.counters() == []

    # The delay passes (still inside the same one-minute window): counted and enforced again.
    time_machine.shift(CACHE_RETRY_SECONDS + 1)
    assert client_credentials(client, app, secret).status_code == 200
    assert client_credentials(client, app, secret).status_code == 200
    assert_throttled(client_credentials(client, app, secret))
    assert own_redis.counters()
