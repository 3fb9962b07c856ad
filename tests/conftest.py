"""Fixtures shared by the whole suite."""

import os

import pytest
from hypothesis import settings

from server import services
from server.actors import Actor
from server.models import Client

# Debian's Chromium through Playwright (CI=1: a missing Chromium fails): one `browser` for the run.
from tests.browser.fixtures import browser, page  # noqa: F401

# Property tests: a fixed, repeatable search in `make test` and CI; a long random one in `make fuzz`.
# A test's own @settings(max_examples=...) still wins over the profile.
settings.register_profile("ci", max_examples=30, derandomize=True, deadline=None, print_blob=True)
settings.register_profile("fuzz", max_examples=1000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: rate-limit counters (server/ratelimit.py) and
    other cached state must not leak from one test into the next."""
    from django.core.cache import caches

    from server import cache_marks
    from server.hotpath import ids, known_clients
    from server.ratelimit import cache_guard, overlap, plans

    for cache in caches.all():
        # Only process-local caches: clearing a Redis cache would flush a whole shared database.
        if type(cache).__name__ == "LocMemCache":
            cache.clear()
    cache_guard.reset()
    # The marks this process remembers (a token's "used at a resource") go with the cache.
    cache_marks.forget_process_marks()
    cache_marks.marks_guard.reset()
    # Ids taken ahead from the sequences (server.hotpath.ids): a test may reset the sequences
    # (reset_sequences=True), and every test starts from what the database says.
    ids.forget()
    # Which client and address pairs this process last saw far from their limits
    # (server.ratelimit.overlap): every test starts with none.
    overlap.forget()
    # The round trips this process worked out (server.ratelimit.plans): every test works out its own.
    plans.forget()
    # The clients this process read (server.hotpath.known_clients): every test reads its own.
    known_clients.forget()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's cost protects stored passwords in production; in tests it only burns the CPU
    (every user a fixture makes). Password checks behave the same with a fast hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_periodic_audit_seals(settings):
    """The write path seals the audit log when an event's id is a multiple of
    AUDIT_CHECKPOINT_EVERY. On PostgreSQL the id sequence is not rolled back between tests, so
    which request meets a multiple depends on everything that ran before it, and a test that pins
    a request's statements would fail one run in a thousand. Tests that exercise the periodic
    seal set the setting themselves (tests/console/audit/test_tamper_evidence.py)."""
    settings.AUDIT_CHECKPOINT_EVERY = 0


@pytest.fixture
def redis_url() -> str:
    """The Redis the tests may use (TEST_REDIS_URL; default db 15 on 127.0.0.1:6379, which CI
    starts), always under a key prefix of the test's own. Skipped without one; failed in CI."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        reason = f"needs a Redis at {url} (TEST_REDIS_URL)"
        if os.environ.get("CI"):  # CI starts one (.ci/run): missing there is a failure, not a skip
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture
def end_user(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice-password-123")


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "root-password-123")


@pytest.fixture
def make_client(db):
    """Create a client through the one write path; returns (client, plain_secret_or_None)."""

    def make(name="Test app", **kwargs):
        kwargs.setdefault("redirect_uris", ["https://app.example.com/callback"])
        kwargs.setdefault("grant_types", ["authorization_code", "refresh_token", "client_credentials"])
        kwargs.setdefault("scope", ["profile", "email", "read"])
        if kwargs.get("client_type") == Client.Type.PUBLIC and "grant_types" in kwargs:
            kwargs["grant_types"] = [g for g in kwargs["grant_types"] if g != "client_credentials"]
        return services.create_client(name=name, actor=Actor.system("tests"), **kwargs)

    return make


@pytest.fixture
def https_server(tmp_path, settings):
    """A loopback HTTPS server (tests/server/https_server.py) that the outbound guard may reach:
    its certificate is the CA bundle and its addresses are allowed networks."""
    from tests.server.https_server import LoopbackHTTPSServer, write_certificate

    cert, key = write_certificate(tmp_path)
    server = LoopbackHTTPSServer(cert, key).start()
    settings.OAUTH2_OUTBOUND_CA_BUNDLE = str(cert)
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]
    yield server
    server.stop()


@pytest.fixture
def receiver(tmp_path, settings):
    """A loopback HTTPS receiver the SSRF guard may reach (its certificate is the CA bundle, its
    address an allowed network): production stays https-only and public-only."""
    from tests.console.webhooks.receiver import WebhookReceiver
    from tests.server.https_server import write_certificate

    cert, key = write_certificate(tmp_path)
    server = WebhookReceiver(cert, key).start()
    settings.OAUTH2_OUTBOUND_CA_BUNDLE = str(cert)
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]
    settings.OAUTH2_WEBHOOK_TIMEOUT = 2
    yield server
    server.stop()


@pytest.fixture
def local_memory_cache(settings):
    """A process-local cache, for tests that move the clock (time-machine) to expire entries:
    Redis expires keys by its own clock, which a test cannot move."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
