"""The audit log observes requests and never breaks one; every event also goes to the SIEM logger."""

import json
import logging

import pytest
from django.db import DatabaseError
from django.test import Client as HttpClient

from oauth_console.audit import recorder
from oauth_console.audit.models import AuditEvent
from server.models import Token
from tests.server.helpers import basic_auth, exchange_code, form, get_code

pytestmark = pytest.mark.django_db(transaction=True)


def token_request(app):
    client, secret = app
    return form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )


@pytest.fixture
def app(make_client):
    return make_client("Billing")


@pytest.fixture
def broken_database(monkeypatch):
    def refuse(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEvent, "save", refuse)
    monkeypatch.setattr(AuditEvent.objects, "bulk_create", refuse)


def errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "oauth_console.audit" and r.levelno >= logging.ERROR]


def test_token_endpoint_answers_as_usual_when_the_event_cannot_be_written(app, broken_database, caplog):
    caplog.set_level(logging.INFO, logger="oauth_console.audit")
    before = AuditEvent.objects.count()
    response = token_request(app)
    assert response.status_code == 200
    assert Token.objects.filter(client=app[0]).count() == 1
    assert AuditEvent.objects.count() == before
    logged = errors(caplog)
    assert any("Could not write 1 audit event(s)" in r.getMessage() and r.exc_info for r in logged)
    # The SIEM has every event already, and learns which of them the database refused.
    siem = [
        json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"audit_event":')
    ]
    lost = {
        json.loads(r.getMessage())["audit_event_not_stored"] for r in logged if "not_stored" in r.getMessage()
    }
    assert {line["audit_event"]["event_type"] for line in siem if line["entry_hash"] in lost} == {
        "token_issued"
    }


def test_code_flow_inside_a_transaction_survives_a_failing_audit_write(
    app, end_user, broken_database, caplog
):
    client, secret = app
    browser = HttpClient()
    browser.force_login(end_user)
    code, verifier = get_code(browser, client.client_id)
    response = exchange_code(browser, client.client_id, secret, code, verifier)
    assert response.status_code == 200
    access = response.json()["access_token"]
    assert HttpClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200
    assert errors(caplog)


def test_a_receiver_that_raises_is_logged_and_the_request_goes_on(app, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("bug in the audit log")

    monkeypatch.setattr(recorder, "build_event", explode)
    response = token_request(app)
    assert response.status_code == 200
    assert any("bug in the audit log" in str(r.exc_info[1]) for r in errors(caplog) if r.exc_info)


def test_bearer_check_survives_a_broken_cache_and_logs_the_outage_once(app, end_user, monkeypatch, caplog):
    from django.core.cache import cache

    client, secret = app
    browser = HttpClient()
    browser.force_login(end_user)
    code, verifier = get_code(browser, client.client_id)
    access = exchange_code(browser, client.client_id, secret, code, verifier).json()["access_token"]
    claims = []

    def down(*args, **kwargs):
        claims.append(args)
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "add", down)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            response = HttpClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access}")
            assert response.status_code == 200
            assert response.json()["user"]["username"] == "alice"
    # Not an ERROR per request: one warning for the outage window, and the cache is left alone
    # until it ends (one failed claim, not one per request).
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "server.cache"]
    assert len(warnings) == 1, warnings
    assert "cache is unavailable (ConnectionError: redis is down)" in warnings[0]
    assert len(claims) == 1
    # The token's use is still recorded, once per interval by this worker (its own memory).
    assert AuditEvent.objects.filter(event_type="token_authenticated").count() == 1


def test_every_event_goes_to_the_siem_logger_as_one_json_line(app, caplog):
    caplog.set_level(logging.INFO, logger="oauth_console.audit")
    response = token_request(app)
    access = response.json()["access_token"]
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "oauth_console.audit" and r.levelno == logging.INFO
    ]
    events = [json.loads(line) for line in lines if line.startswith('{"audit_event"')]
    stored = {e.entry_hash: e for e in AuditEvent.objects.all()}
    issued = next(e for e in events if e["audit_event"]["event_type"] == "token_issued")
    assert issued["entry_hash"] in stored
    assert stored[issued["entry_hash"]].event_type == "token_issued"
    assert issued["audit_event"]["client_id"] == app[0].client_id
    assert all("\n" not in line for line in lines)
    assert access not in "".join(lines)


# --- write-behind (the production default) ---------------------------------------------------------


@pytest.fixture
def write_behind(settings):
    from oauth_console.audit import writer

    settings.AUDIT_WRITE_BEHIND = True
    settings.AUDIT_WRITE_DELAY_MS = 50
    yield writer
    writer.flush()
    # End the thread, and with it its database connection: the test database cannot be dropped
    # while a session still uses it. The next use starts a new thread.
    writer.get_writer().stop()


def test_write_behind_stores_the_events_of_a_request_after_it_answered(app, write_behind):
    response = token_request(app)
    assert response.status_code == 200
    assert write_behind.flush()
    issued = AuditEvent.objects.get(event_type="token_issued")
    assert issued.detail["client_auth_method"] == "client_secret_basic"


def test_write_behind_touches_the_token_off_the_request(app, end_user, write_behind):
    client, secret = app
    browser = HttpClient()
    browser.force_login(end_user)
    code, verifier = get_code(browser, client.client_id)
    access = exchange_code(browser, client.client_id, secret, code, verifier).json()["access_token"]
    assert HttpClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200
    assert write_behind.flush()
    token = Token.objects.get(access_token_prefix=access[:12])
    assert token.last_used_at is not None
    assert AuditEvent.objects.filter(event_type="token_authenticated", token_id=token.pk).count() == 1


def test_write_behind_survives_a_broken_database(app, write_behind, broken_database, caplog):
    assert token_request(app).status_code == 200
    assert write_behind.flush()
    assert any("Could not write" in r.getMessage() for r in errors(caplog))
    assert token_request(app).status_code == 200
