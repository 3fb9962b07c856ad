"""/healthz and /readyz: what they answer, what they cost, and what they never do."""

import json

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext

from oauth_console import health
from oauth_console.audit.models import AuditEvent
from server import services
from server.actors import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _migrations_not_yet_verified(monkeypatch):
    monkeypatch.setattr(health, "_migrated", set())


def test_healthz_answers_without_any_io(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_readyz_names_each_check_with_its_time(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "migrations", "cache", "signing_key"}
    for result in body["checks"].values():
        assert result["ok"] is True
        assert isinstance(result["ms"], float | int) and result["ms"] >= 0


def test_readyz_reads_the_migration_graph_once_then_only_selects_1_and_the_signing_keys(client):
    with CaptureQueriesContext(connection) as first:
        assert client.get("/readyz").status_code == 200
    assert any("django_migrations" in q["sql"] for q in first.captured_queries)
    for _ in range(3):
        with CaptureQueriesContext(connection) as later:
            assert client.get("/readyz").status_code == 200
        sql = [q["sql"] for q in later.captured_queries]
        assert len(sql) == 2 and sql[0] == "SELECT 1" and "server_signingkey" in sql[1], sql


def test_readyz_is_unavailable_when_a_signing_key_does_not_decrypt(client, settings):
    active = services.signing_key_for("RS256")
    upcoming = services.create_signing_key(alg="ES256", actor=Actor.system("tests"))
    assert client.get("/readyz").json()["checks"]["signing_key"]["ok"] is True
    settings.OAUTH2_KEY_ENCRYPTION_KEY = "another-key-encryption-key-" + "k" * 40
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["signing_key"]
    error = body["checks"]["signing_key"]["error"]
    assert f"RS256 key {active.kid[:8]} (active): cannot be decrypted" in error
    assert f"ES256 key {upcoming.kid[:8]} (next): cannot be decrypted" in error
    assert "v1." not in error, "nothing of the stored key itself"


def test_readyz_is_ready_on_a_fresh_install_without_keys(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["checks"]["signing_key"]["ok"] is True


def test_readyz_is_unavailable_while_a_migration_is_not_applied(client):
    applied = MigrationRecorder.Migration.objects.filter(app="server").order_by("-id").first()
    assert applied is not None
    MigrationRecorder.Migration.objects.filter(pk=applied.pk).delete()

    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["migrations"]
    assert body["checks"]["migrations"]["error"] == "default: 1 unapplied"
    assert body["checks"]["database"]["ok"] is True

    MigrationRecorder.Migration.objects.create(app=applied.app, name=applied.name)
    assert client.get("/readyz").status_code == 200


def test_probes_are_plain_http_unredirected_sessionless_unaudited_and_unlimited(client, settings):
    settings.OAUTH2_REQUIRE_HTTPS = True
    settings.SECURE_SSL_REDIRECT = True
    settings.OAUTH2_RATE_LIMITS = {name: "1/3600" for name in settings.OAUTH2_RATE_LIMITS}
    events = AuditEvent.objects.count()
    for _ in range(3):
        for path in ("/healthz", "/readyz"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert "Set-Cookie" not in response
            json.loads(response.content)
    assert AuditEvent.objects.count() == events
    assert client.get("/console/").status_code == 301  # the redirect is on, elsewhere


def test_a_check_that_raises_is_a_failing_check_not_a_500(client, monkeypatch):
    def broken():
        raise RuntimeError("surprise")

    monkeypatch.setattr(health, "_cache_answers", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]
    assert response.json()["checks"]["cache"]["error"] == "RuntimeError"
