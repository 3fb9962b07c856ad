"""An event that reports a write commits with it or not at all (a fact the log cannot record does
not happen); an event that only observes a request never breaks it; every event also goes to
the SIEM logger."""

import json
import logging

import pytest
from django.db import OperationalError
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


def break_audit_writes(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OperationalError("disk full")

    # Every INSERT of events goes through here (one row, or a batch through bulk_create).
    monkeypatch.setattr(recorder, "_write_rows", refuse)


@pytest.fixture
def broken_database(monkeypatch):
    break_audit_writes(monkeypatch)


def errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "oauth_console.audit" and r.levelno >= logging.ERROR]


def siem_lines(caplog) -> list[dict]:
    lines = [r.getMessage() for r in caplog.records]
    return [json.loads(line) for line in lines if line.startswith('{"audit_event":')]


# --- a fact and its event: both or neither ----------------------------------------------------------


def test_a_token_whose_event_cannot_be_written_is_not_issued(app, broken_database, caplog):
    caplog.set_level(logging.INFO, logger="oauth_console.audit")
    before = AuditEvent.objects.count()
    response = token_request(app)
    # The token's INSERT rolls back with its event's: the client is told to try again.
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert Token.objects.filter(client=app[0]).count() == 0
    assert AuditEvent.objects.count() == before
    # Nor does the SIEM hear of a token that does not exist: its line follows the commit.
    assert [line for line in siem_lines(caplog) if line["audit_event"]["event_type"] == "token_issued"] == []


def test_a_code_exchange_whose_event_cannot_be_written_leaves_the_code_unused(app, end_user, monkeypatch):
    client, secret = app
    browser = HttpClient()
    browser.force_login(end_user)
    code, verifier = get_code(browser, client.client_id)
    break_audit_writes(monkeypatch)
    response = exchange_code(browser, client.client_id, secret, code, verifier)
    assert response.status_code == 503
    assert Token.objects.count() == 0
    # Redeeming the code rolled back too: once the audit log can write again, the code works.
    monkeypatch.undo()
    response = exchange_code(browser, client.client_id, secret, code, verifier)
    assert response.status_code == 200
    token = Token.objects.get()
    assert AuditEvent.objects.get(event_type="token_issued").token_id == token.pk


def test_a_revocation_whose_event_cannot_be_written_does_not_happen(app, monkeypatch):
    client, secret = app
    access = token_request(app).json()["access_token"]
    break_audit_writes(monkeypatch)
    response = form(
        HttpClient(),
        "/oauth/revoke",
        {"token": access},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 503
    assert Token.objects.get(access_token_prefix=access[:12]).revoked_at is None
    assert not AuditEvent.objects.filter(event_type="token_revoked").exists()


def test_a_consent_whose_event_cannot_be_written_gives_no_code(app, end_user, broken_database):
    from server.models import AuthorizationCode, Consent
    from tests.server.helpers import authorize_url, pkce_pair

    browser = HttpClient()
    browser.force_login(end_user)
    url = authorize_url(app[0].client_id, pkce_pair()[1])
    assert browser.get(url).status_code == 200
    response = browser.post(url, {"confirm": "yes"})
    assert response.status_code == 503
    assert "code=" not in response.get("Location", "")
    assert AuthorizationCode.objects.count() == 0
    assert Consent.objects.count() == 0  # recorded in the same transaction, rolled back with it


def test_an_operator_action_whose_event_cannot_be_written_does_not_happen(app, broken_database):
    from django.db import DatabaseError

    from server import services
    from server.actors import Actor

    client, _ = app
    with pytest.raises(DatabaseError):
        services.set_client_status(client, "disabled", actor=Actor.system("tests"), reason="test")
    client.refresh_from_db()
    assert client.status == "active"


def test_a_recorder_that_raises_vetoes_its_fact(app, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("bug in the audit log")

    monkeypatch.setattr(recorder, "build_event", explode)
    with pytest.raises(RuntimeError, match="bug in the audit log"):
        token_request(app)
    assert Token.objects.filter(client=app[0]).count() == 0


# --- observed events (no write of their own): never break a request ---------------------------------


def test_an_observed_event_that_cannot_be_written_is_logged_and_the_request_goes_on(
    app, broken_database, caplog
):
    caplog.set_level(logging.INFO, logger="oauth_console.audit")
    client, _ = app
    response = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, "wrong-secret"),
    )
    assert response.status_code == 401
    logged = errors(caplog)
    assert any("Could not write 1 audit event(s)" in r.getMessage() and r.exc_info for r in logged)
    # The SIEM has every observed event already, and learns which of them the database refused.
    lost = {
        json.loads(r.getMessage())["audit_event_not_stored"] for r in logged if "not_stored" in r.getMessage()
    }
    refused = {line["audit_event"]["event_type"] for line in siem_lines(caplog) if line["entry_hash"] in lost}
    assert refused == {"client_authentication_failed"}


def test_an_observed_event_whose_receiver_raises_is_logged_and_the_request_goes_on(app, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("bug in the audit log")

    monkeypatch.setattr(recorder, "build_event", explode)
    client, _ = app
    response = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, "wrong-secret"),
    )
    assert response.status_code == 401
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


# --- write-behind (AUDIT_WRITE_BEHIND: durability traded for speed) -----------------------------


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
    # The test database is SQLite in memory with a shared cache, where a write meeting the writer
    # thread's write fails at once ("table is locked") instead of waiting as on a file: let the
    # sign-in's and consent's events land before the next request writes.
    assert write_behind.flush()
    access = exchange_code(browser, client.client_id, secret, code, verifier).json()["access_token"]
    assert write_behind.flush()
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
