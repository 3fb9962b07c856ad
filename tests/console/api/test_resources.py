"""Secrets, tokens, consents, initial access tokens, the audit log and signing keys through the API."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from oauth_console.audit.models import AuditEvent
from server import credentials, services
from server.actors import Actor
from server.models import ClientSecret, Consent, InitialAccessToken, SigningKey, Token
from tests.server.helpers import REDIRECT_URI, basic_auth, form

from .conftest import api_with, assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(db):
    return services.create_client(
        name="Web app",
        actor=Actor.system("t"),
        redirect_uris=[REDIRECT_URI],
        scope=["profile"],
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
    )


def issue(client, user=None, *, lifetime=3600) -> Token:
    access = credentials.generate("access_token")
    return services.store_token(
        {"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "scope": "profile"},
        client=client,
        user=user,
        grant_type="authorization_code" if user else "client_credentials",
    )


def api_events(event_type):
    return AuditEvent.objects.filter(event_type=event_type).exclude(actor_kind="system")


# --- secrets -----------------------------------------------------------------------------------


def test_rotate_with_grace_then_expire_one(api, app):
    client, old_secret = app
    url = f"/api/v1/clients/{client.client_id}/secrets"
    rotated = api.post(f"{url}/rotate", {"grace_period_seconds": 3600})
    assert rotated.status_code == 201, rotated.content
    new_secret = rotated.json()["client_secret"]
    client.refresh_from_db()
    assert client.check_client_secret(old_secret) and client.check_client_secret(new_secret)
    listed = api.get(url).json()
    assert len(listed) == 2
    old_row = next(r for r in listed if r["id"] != rotated.json()["secret"]["id"])
    assert old_row["expires_at"] is not None and old_row["is_expired"] is False
    # The answer's date is the one the service stored on the old secret, not one the view made up.
    stored = ClientSecret.objects.get(pk=old_row["id"]).expires_at
    assert parse_datetime(rotated.json()["previous_secrets_expire_at"]) == stored
    expired = api.post(f"{url}/{old_row['id']}/expire")
    assert expired.status_code == 200 and expired.json()["is_expired"] is True
    assert not client.check_client_secret(old_secret) and client.check_client_secret(new_secret)
    assert api_events("client_secret_rotated").get().actor_label == f"client:{api.client.client_id}"
    assert api_events("client_secret_expired").count() == 1
    # Someone else's secret id is not found under this client.
    other_secret = ClientSecret.objects.exclude(client=client).first()
    assert_problem(api.post(f"{url}/{other_secret.pk}/expire"), 404)


def test_a_public_client_has_no_secret_to_rotate(api):
    client, _ = services.create_client(
        name="SPA", actor=Actor.system("t"), client_type="public", redirect_uris=[REDIRECT_URI]
    )
    assert_problem(api.post(f"/api/v1/clients/{client.client_id}/secrets/rotate", {}), 400, "policy")


# --- tokens ------------------------------------------------------------------------------------


def test_token_search_never_shows_a_token_or_digest(api, app, end_user):
    client, _ = app
    mine = issue(client, end_user)
    issue(client)
    listed = api.get("/api/v1/tokens", {"client_id": client.client_id})
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert len(rows) == 2
    text = listed.content.decode()
    for token in Token.objects.filter(client=client):
        assert token.access_token_digest not in text
    assert {r["user"] for r in rows} == {"alice", None}
    assert [r["id"] for r in api.get("/api/v1/tokens", {"user": "alice"}).json()["results"]] == [mine.pk]
    prefix = mine.access_token_prefix[:10]
    assert mine.pk in [r["id"] for r in api.get("/api/v1/tokens", {"prefix": prefix}).json()["results"]]
    Token.objects.filter(pk=mine.pk).update(revoked_at=timezone.now())
    revoked = api.get("/api/v1/tokens", {"state": "revoked", "client_id": client.client_id}).json()["results"]
    assert [r["id"] for r in revoked] == [mine.pk] and revoked[0]["state"] == "revoked"


def test_token_search_pages_by_cursor(api, app):
    client, _ = app
    for _ in range(5):
        issue(client)
    first = api.get("/api/v1/tokens", {"client_id": client.client_id, "limit": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    seen = [r["id"] for r in first["results"]]
    page = first
    while page["next"]:
        page = api.http.get(page["next"], HTTP_AUTHORIZATION=f"Bearer {api.token}").json()
        seen += [r["id"] for r in page["results"]]
    assert sorted(seen) == sorted(Token.objects.filter(client=client).values_list("pk", flat=True))


def test_bulk_revoke_dry_run_then_for_real(api, app, end_user):
    client, _ = app
    for _ in range(3):
        issue(client, end_user)
    issue(client)
    body = {"client_id": client.client_id, "user": "alice", "reason": "laptop stolen"}
    dry = api.post("/api/v1/tokens/revoke", {**body, "dry_run": True})
    assert dry.json() == {"count": 3, "dry_run": True}
    also_dry = api.post("/api/v1/tokens/revoke?dry_run=true", body)
    assert also_dry.json() == {"count": 3, "dry_run": True}
    assert Token.objects.filter(revoked_at__isnull=False).count() == 0
    done = api.post("/api/v1/tokens/revoke", body)
    assert done.json() == {"count": 3, "dry_run": False}
    assert Token.objects.filter(client=client, revoked_at__isnull=False).count() == 3
    event = api_events("tokens_revoked").get()
    assert event.actor_label == f"client:{api.client.client_id}" and event.detail["count"] == 3
    assert api.post("/api/v1/tokens/revoke", body).json()["count"] == 0


# --- consents ----------------------------------------------------------------------------------


def test_consents_list_and_revoke(api, app, end_user):
    client, _ = app
    consent = services.record_consent(user=end_user, client=client, scope="profile")
    issue(client, end_user)
    rows = api.get("/api/v1/consents", {"user": "alice"}).json()["results"]
    assert [(r["id"], r["client_id"], r["scope"]) for r in rows] == [
        (consent.pk, client.client_id, ["profile"])
    ]
    revoked = api.delete(f"/api/v1/consents/{consent.pk}")
    assert revoked.json() == {"count": 1, "dry_run": False}
    assert not Consent.objects.exists()
    assert api_events("consent_revoked").get().actor_label == f"client:{api.client.client_id}"
    assert_problem(api.delete(f"/api/v1/consents/{consent.pk}"), 404)


# --- initial access tokens ---------------------------------------------------------------------


def test_initial_access_tokens(api):
    created = api.post(
        "/api/v1/initial-access-tokens",
        {"description": "CI", "max_registrations": 3, "allowed_scope": ["profile"]},
    )
    assert created.status_code == 201, created.content
    plain = created.json()["token"]
    row = InitialAccessToken.objects.get()
    assert row.digest == credentials.digest(plain) and row.created_by is None
    listed = api.get("/api/v1/initial-access-tokens").json()["results"]
    assert plain not in json.dumps(listed) and listed[0]["is_usable"] is True
    revoked = api.post(f"/api/v1/initial-access-tokens/{row.pk}/revoke")
    assert revoked.json()["is_usable"] is False and revoked.json()["revoked_at"]
    assert [
        r["id"] for r in api.get("/api/v1/initial-access-tokens", {"usable": "false"}).json()["results"]
    ] == [row.pk]
    assert api.get("/api/v1/initial-access-tokens", {"usable": "true"}).json()["results"] == []
    assert api_events("initial_access_token_revoked").count() == 1


# --- audit -------------------------------------------------------------------------------------


def test_audit_events_filter_page_and_export(api, app):
    client, _ = app
    api.post(f"/api/v1/clients/{client.client_id}/disable", {"reason": "r1"})
    api.post(f"/api/v1/clients/{client.client_id}/enable", {"reason": "r2"})
    caller = f"client:{api.client.client_id}"
    listed = api.get("/api/v1/audit-events", {"client_id": client.client_id, "actor": caller}).json()
    assert [e["event_type"] for e in listed["results"]] == ["client_enabled", "client_disabled"]
    typed = api.get(
        "/api/v1/audit-events", {"event_type": "client_disabled,client_enabled", "limit": 1}
    ).json()
    assert len(typed["results"]) == 1 and typed["next"]
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert api.get("/api/v1/audit-events", {"since": future}).json()["results"] == []
    assert_problem(api.get("/api/v1/audit-events", {"since": future, "until": future}), 400)

    export = api.get("/api/v1/audit-events/export", {"client_id": client.client_id})
    assert export.status_code == 200 and export["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in b"".join(export.streaming_content).decode().splitlines()]
    assert [e["event_type"] for e in lines] == ["client_created", "client_disabled", "client_enabled"]
    recorded = AuditEvent.objects.get(event_type="audit_log_exported")
    assert recorded.actor_label == caller and recorded.detail["filters"] == {"client_id": client.client_id}


# --- signing keys ------------------------------------------------------------------------------


def test_signing_keys_list_rotate_revoke(api):
    services.signing_key_for("RS256")
    listed = api.get("/api/v1/signing-keys").json()
    [active] = listed
    assert active["state"] == "active" and active["published"] is True
    assert "d" not in active["public_jwk"] and "private_key_encrypted" not in active
    steps = api.post("/api/v1/signing-keys/rotate", {}).json()
    assert [s["action"] for s in steps] == ["created"]
    forced = api.post("/api/v1/signing-keys/rotate", {"force": True}).json()
    assert [s["action"] for s in forced] == ["activated", "created"]
    revoked = api.post(f"/api/v1/signing-keys/{active['kid']}/revoke", {"reason": "leaked"})
    assert revoked.json()["state"] == "revoked" and revoked.json()["published"] is False
    assert SigningKey.objects.get(kid=active["kid"]).state == "revoked"
    assert_problem(api.post(f"/api/v1/signing-keys/{active['kid']}/revoke", {}), 409, "conflict")
    assert_problem(api.post("/api/v1/signing-keys/nope/revoke", {}), 404)
    assert api_events("signing_key_revoked").get().actor_label == f"client:{api.client.client_id}"


def test_keys_may_be_listed_with_the_clients_read_scope():
    reader = api_with(["console:clients:read"])
    assert reader.get("/api/v1/signing-keys").status_code == 200
    assert_problem(reader.post("/api/v1/signing-keys/rotate", {}), 403)


def test_the_token_endpoint_gives_operator_scopes_only_when_asked(api):
    """No default: a machine client asking for no scope gets none of the console scopes."""
    client, secret = services.create_client(
        name="Ops bot",
        actor=Actor.system("t"),
        grant_types=["client_credentials"],
        scope=["console:clients:read"],
        operator_scopes_allowed=["console:clients:read"],
    )
    response = form(
        api.http,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert "console:" not in json.dumps(response.json())
