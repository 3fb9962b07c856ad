"""Every event source, driven through the real endpoints, pages and admin; the stored event asserted.

Transactional tests: the server sends its signals after commit and the audit log writes after
commit, so these run with real commits, as in production.
"""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oauth_console.audit.models import AuditEvent
from server.models import Client, ClientSecret, Consent, Token
from tests.console.approval_pages import approve_from_the_list
from tests.server.helpers import (
    REDIRECT_URI,
    authorize_url,
    basic_auth,
    exchange_code,
    form,
    get_code,
    pkce_pair,
)

pytestmark = pytest.mark.django_db(transaction=True)

AUDIT_TABLE = AuditEvent._meta.db_table


def last(event_type: str) -> AuditEvent:
    return AuditEvent.objects.filter(event_type=event_type).latest("id")


def count(event_type: str) -> int:
    return AuditEvent.objects.filter(event_type=event_type).count()


def audit_inserts(queries) -> int:
    # On PostgreSQL a token's event is written by the token's own statement (a CTE that INSERTs
    # both: server.hotpath.riders), so INSERTs are counted inside statements, not per statement.
    return sum(q["sql"].count(f'INSERT INTO "{AUDIT_TABLE}"') for q in queries.captured_queries)


def all_stored_text() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str)


@pytest.fixture
def app(make_client):
    client, secret = make_client("Billing")
    return client, secret


@pytest.fixture
def http():
    return HttpClient(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="billing-backend/2.1")


def client_credentials(http, app, **extra):
    client, secret = app
    return form(
        http,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
        **extra,
    )


@pytest.fixture
def signed_in(end_user):
    browser = HttpClient(REMOTE_ADDR="198.51.100.20", HTTP_USER_AGENT="Firefox/140")
    browser.force_login(end_user)
    return browser


def code_flow_tokens(signed_in, app) -> tuple[dict, str, str]:
    client, secret = app
    code, verifier = get_code(signed_in, client.client_id)
    response = exchange_code(signed_in, client.client_id, secret, code, verifier)
    assert response.status_code == 200, response.content
    return response.json(), code, verifier


# --- the token endpoint ----------------------------------------------------------------------------


def test_token_request_records_one_token_issued_event_that_says_how_the_client_authenticated(http, app):
    client, _ = app
    with CaptureQueriesContext(connection) as queries:
        response = client_credentials(http, app, HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42"
    assert audit_inserts(queries) == 1
    token = Token.objects.get()

    issued = last("token_issued")
    assert issued.outcome == "success"
    assert issued.client_id == client.client_id
    assert issued.actor_label == f"client:{client.client_id}"
    assert issued.token_id == token.pk
    assert issued.token_prefix == token.access_token_prefix
    assert issued.detail["grant_type"] == "client_credentials"
    assert issued.detail["scope"] == "read"
    # The client's authentication is part of this event, not a second row on the hot path.
    assert issued.detail["client_auth_method"] == "client_secret_basic"
    assert count("client_authenticated") == 0
    assert issued.ip_address == "203.0.113.9"
    assert issued.user_agent == "billing-backend/2.1"
    assert issued.request_id == "req-42"
    # Never the token itself, anywhere in the log.
    assert response.json()["access_token"] not in all_stored_text()


def test_client_authentication_without_a_token_is_its_own_event(http, app):
    client, secret = app
    response = form(
        http,
        "/oauth/introspect",
        {"token": "oat_unknown"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200
    authenticated = last("client_authenticated")
    assert authenticated.outcome == "success"
    assert authenticated.client_id == client.client_id
    assert authenticated.detail == {"method": "client_secret_basic"}
    assert authenticated.ip_address == "203.0.113.9"
    assert authenticated.request_id == response["X-Request-ID"]


def test_repeated_introspection_records_the_client_once_per_window(http, app, settings):
    client, secret = app
    auth = basic_auth(client.client_id, secret)

    def introspect(http_client):
        response = form(http_client, "/oauth/introspect", {"token": "oat_unknown"}, HTTP_AUTHORIZATION=auth)
        assert response.status_code == 200

    for _ in range(3):
        introspect(http)
    # A resource server introspecting on every call: one event per client, endpoint and address.
    assert count("client_authenticated") == 1
    introspect(HttpClient(REMOTE_ADDR="198.51.100.7"))
    assert count("client_authenticated") == 2
    wrong = form(
        http, "/oauth/introspect", {"token": "x"}, HTTP_AUTHORIZATION=basic_auth(client.client_id, "no")
    )
    assert wrong.status_code == 401
    assert count("client_authentication_failed") == 1  # failures are never throttled
    settings.AUDIT_CLIENT_AUTH_INTERVAL = 0
    introspect(http)
    introspect(http)
    assert count("client_authenticated") == 4


def test_failed_client_authentication_records_reason_and_method(http, app):
    client, _ = app
    response = form(
        http,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, "ocs_wrong-secret"),
    )
    assert response.status_code == 401
    failed = last("client_authentication_failed")
    assert failed.outcome == "failure"
    assert failed.client_id == client.client_id
    assert failed.detail["method"] == "client_secret_basic"
    assert failed.detail["reason"]
    assert "ocs_wrong-secret" not in all_stored_text()
    assert response["X-Request-ID"] == failed.request_id
    assert not Token.objects.exists()


def test_failed_authentication_of_an_unknown_client_keeps_the_claimed_id(http):
    response = form(
        http,
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
    )
    # No Authorization header was sent, so RFC 6749 §5.2 allows 401 or 400 for invalid_client.
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"
    failed = last("client_authentication_failed")
    assert failed.client_id == "nobody"
    assert failed.detail["method"] == "client_secret_post"


def test_insane_request_id_is_replaced_and_echoed(http, app):
    response = client_credentials(http, app, HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert response.status_code == 200
    issued = last("token_issued")
    assert issued.request_id == response["X-Request-ID"]
    assert "<" not in issued.request_id and len(issued.request_id) == 32


# --- the bearer check ----------------------------------------------------------------------------------


def test_bearer_check_records_first_use_then_nothing_within_the_window(signed_in, app, settings):
    tokens, _, _ = code_flow_tokens(signed_in, app)
    api = HttpClient(REMOTE_ADDR="192.0.2.50")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}

    with CaptureQueriesContext(connection) as first:
        assert api.get("/api/me", **bearer).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert api.get("/api/me", **bearer).status_code == 200

    token = Token.objects.get(access_token_prefix=tokens["access_token"][:12])
    used = AuditEvent.objects.filter(event_type="token_authenticated")
    assert used.count() == 1
    event = used.get()
    assert event.token_id == token.pk and event.token_prefix == token.access_token_prefix
    assert event.ip_address == "192.0.2.50"
    assert event.username == "alice"
    assert event.detail["path"] == "/api/me"
    assert token.last_used_at is not None
    assert audit_inserts(first) == 1
    # Inside the window the bearer check costs the audit log nothing: no INSERT, no UPDATE.
    assert audit_inserts(second) == 0
    # (The first request's audit write also takes the event's id first, for its position hash:
    # so the second is compared with the bearer check alone, one SELECT.)
    assert [q["sql"].split(" FROM ")[1].split()[0] for q in second.captured_queries] == ['"server_token"']


def test_bearer_check_records_every_use_when_the_interval_is_zero(signed_in, app, settings):
    settings.AUDIT_TOKEN_USE_INTERVAL = 0
    tokens, _, _ = code_flow_tokens(signed_in, app)
    for _ in range(3):
        assert (
            HttpClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code
            == 200
        )
    assert count("token_authenticated") == 3


# --- revocation, replay, reuse ----------------------------------------------------------------------


def test_revocation_endpoint_records_one_event_with_who_and_why(http, app):
    client, secret = app
    access = client_credentials(http, app).json()["access_token"]
    token = Token.objects.get()
    response = form(
        http, "/oauth/revoke", {"token": access}, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret)
    )
    assert response.status_code == 200
    assert count("token_revoked") == 1
    revoked = last("token_revoked")
    assert revoked.actor_label == f"client:{client.client_id}"
    assert revoked.client_id == client.client_id
    assert revoked.token_id == token.pk
    assert revoked.detail["reason"] == "revoked by the client"
    assert revoked.detail["count"] == 1
    assert revoked.ip_address == "203.0.113.9"


@pytest.fixture
def sent():
    """The revocation signals sent, by name (issue 12: each fact is sent once, by its owner)."""
    from server import signals as server_signals
    from server.oauth2 import signals as oauth2_signals

    seen: dict[str, list[dict]] = {"token_revoked": [], "tokens_revoked": []}

    def spec(sender, **kwargs):
        seen["token_revoked"].append(kwargs)

    def ours(sender, **kwargs):
        seen["tokens_revoked"].append(kwargs)

    oauth2_signals.token_revoked.connect(spec, dispatch_uid="test.sent.token_revoked")
    server_signals.tokens_revoked.connect(ours, dispatch_uid="test.sent.tokens_revoked")
    yield seen
    oauth2_signals.token_revoked.disconnect(dispatch_uid="test.sent.token_revoked")
    server_signals.tokens_revoked.disconnect(dispatch_uid="test.sent.tokens_revoked")


def test_an_rfc7009_revocation_is_sent_once_as_the_spec_signal(http, app, sent):
    client, secret = app
    access = client_credentials(http, app).json()["access_token"]
    response = form(
        http, "/oauth/revoke", {"token": access}, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret)
    )
    assert response.status_code == 200
    assert len(sent["token_revoked"]) == 1
    assert sent["tokens_revoked"] == []
    assert count("token_revoked") + count("tokens_revoked") == 1


def test_revoking_a_refresh_token_is_one_event_that_counts_its_family(signed_in, app, http, sent):
    client, secret = app
    tokens, _, _ = code_flow_tokens(signed_in, app)
    auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    rotated = form(signed_in, "/oauth/token", refresh, **auth).json()
    revoke = {"token": rotated["refresh_token"], "token_type_hint": "refresh_token"}
    assert form(http, "/oauth/revoke", revoke, **auth).status_code == 200
    assert len(sent["token_revoked"]) == 1
    assert sent["tokens_revoked"] == []
    assert count("token_revoked") == 1 and count("tokens_revoked") == 0
    revoked = last("token_revoked")
    family = Token.objects.get(refresh_token_prefix=rotated["refresh_token"][:12]).family_id
    assert revoked.detail["count"] == 2  # the rotated pair and the one it was rotated into
    assert revoked.detail["criteria"] == {"family_id": str(family)}
    assert revoked.detail["reason"] == "refresh token revoked by the client"
    assert Token.objects.filter(family_id=family, revoked_at__isnull=True).count() == 0


def test_refresh_token_reuse_records_detection_and_family_revocation(signed_in, app):
    client, secret = app
    tokens, _, _ = code_flow_tokens(signed_in, app)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}
    assert form(signed_in, "/oauth/token", refresh, **auth).status_code == 200
    assert form(signed_in, "/oauth/token", refresh, **auth).status_code == 400

    first = Token.objects.get(refresh_token_prefix=tokens["refresh_token"][:12])
    reused = last("refresh_token_reused")
    assert reused.outcome == "failure"
    assert reused.token_id == first.pk
    assert reused.detail["family_id"] == str(first.family_id)
    assert tokens["refresh_token"] not in all_stored_text()
    family = last("tokens_revoked")
    assert family.actor_label == "system:reuse-detection"
    assert family.detail["count"] == 2  # the rotated one and the one it was rotated into
    assert family.detail["criteria"] == {"family_id": str(first.family_id)}


def test_refresh_with_a_revoked_refresh_token_records_the_refusal(signed_in, app, http):
    """Found in review: the refused refresh left only "Client authenticated / Success"."""
    client, secret = app
    tokens, _, _ = code_flow_tokens(signed_in, app)
    revoke = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}
    assert form(http, "/oauth/revoke", revoke, **auth).status_code == 200
    before = AuditEvent.objects.count()

    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    response = form(http, "/oauth/token", refresh, **auth)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"

    new_events = list(AuditEvent.objects.filter(id__gt=AuditEvent.objects.order_by("id")[before - 1].id))
    assert [event.event_type for event in new_events] == ["token_refused"]
    refused = new_events[0]
    assert refused.outcome == "failure"
    assert refused.client_id == client.client_id
    assert refused.actor_label == f"client:{client.client_id}"
    assert refused.detail["grant_type"] == "refresh_token"
    assert refused.detail["error"] == "invalid_grant"
    assert refused.detail["client_auth_method"] == "client_secret_basic"
    assert refused.ip_address == "203.0.113.9"
    assert tokens["refresh_token"] not in all_stored_text()


def test_a_token_request_refused_before_client_authentication_records_only_that_failure(http, app):
    client, _ = app
    response = client_credentials(http, (client, "ocs_wrong"))
    assert response.status_code == 401
    assert count("client_authentication_failed") == 1
    assert count("token_refused") == 0


def test_authorization_code_replay_records_replay_and_revocation(signed_in, app):
    client, secret = app
    _, code, verifier = code_flow_tokens(signed_in, app)
    replay = exchange_code(signed_in, client.client_id, secret, code, verifier)
    assert replay.status_code == 400
    replayed = last("authorization_code_replayed")
    assert replayed.outcome == "failure"
    assert replayed.client_id == client.client_id
    assert replayed.username == "alice"
    assert code not in all_stored_text()
    revocation = last("tokens_revoked")
    assert revocation.actor_label == "system:replay-detection"
    assert revocation.detail["count"] == 1


# --- consent ---------------------------------------------------------------------------------------------


def test_consent_granted_and_denied(signed_in, app):
    client, _ = app
    get_code(signed_in, client.client_id, scope="profile email")
    granted = last("consent_granted")
    assert granted.username == "alice" and granted.actor_label == "user:alice"
    assert granted.detail["scope"] == "profile email"
    assert granted.ip_address == "198.51.100.20"

    _, challenge = pkce_pair()
    response = signed_in.post(
        authorize_url(client.client_id, challenge, scope="read", prompt="consent"), {"deny": "yes"}
    )
    assert response.status_code == 302 and "access_denied" in response["Location"]
    denied = last("consent_denied")
    assert denied.outcome == "failure"
    assert denied.detail["scope"] == "read"
    assert REDIRECT_URI not in json.dumps(denied.detail)


def test_silent_reauthorisation_is_not_logged_as_a_new_consent(signed_in, app):
    """Issue 11 item 20: six silent re-authorisations in a minute logged six identical
    "Consent granted". Only the approval on the page is a consent; an authorization that a
    remembered consent covered is its own event."""
    client, _ = app
    get_code(signed_in, client.client_id, scope="profile email")
    assert count("consent_granted") == 1

    for _ in range(3):
        _, challenge = pkce_pair()
        response = signed_in.get(authorize_url(client.client_id, challenge, scope="profile"))
        assert response.status_code == 302 and "code=" in response["Location"]

    assert count("consent_granted") == 1
    assert count("consent_remembered") == 3
    silent = last("consent_remembered")
    assert silent.username == "alice" and silent.outcome == "success"
    assert silent.detail["scope"] == "profile"
    assert silent.get_event_type_display() == "Authorized under remembered consent"

    # Approving on the page again (prompt=consent) is a consent decision: logged as one.
    _, challenge = pkce_pair()
    url = authorize_url(client.client_id, challenge, scope="profile", prompt="consent")
    assert signed_in.post(url, {"confirm": "yes"}).status_code == 302
    assert count("consent_granted") == 2


def test_revoking_an_app_in_the_account_page_records_consent_revoked(signed_in, app, end_user):
    client, _ = app
    code_flow_tokens(signed_in, app)
    assert Consent.objects.filter(user=end_user, client=client).exists()
    response = signed_in.post(reverse("accounts:revoke_access", args=[client.client_id]))
    assert response.status_code == 302
    revoked = last("consent_revoked")
    assert revoked.actor_label == "user:alice"
    assert revoked.username == "alice" and revoked.client_id == client.client_id
    assert revoked.detail["tokens_revoked"] == 1
    assert revoked.detail["codes_expired"] == 0  # the one code was redeemed


# --- sign-ins -----------------------------------------------------------------------------------------------


def test_operator_sign_in_and_failed_sign_in_through_the_admin(operator):
    browser = HttpClient(REMOTE_ADDR="192.0.2.7")
    failed = browser.post("/admin/login/", {"username": "root", "password": "not-the-password"})
    assert failed.status_code == 200
    attempt = last("login_failed")
    assert attempt.outcome == "failure" and attempt.username == "root"
    assert attempt.ip_address == "192.0.2.7"
    assert "not-the-password" not in all_stored_text()

    ok = browser.post("/admin/login/", {"username": "root", "password": "root-password-123"})
    assert ok.status_code == 302
    login = last("operator_login")
    assert login.actor_label == "operator:root" and login.user_id == operator.pk


def test_end_user_sign_in_is_a_user_login(end_user):
    browser = HttpClient()
    response = browser.post(reverse("login"), {"username": "alice", "password": "alice-password-123"})
    assert response.status_code == 302
    assert last("user_login").username == "alice"


# --- the operator console (admin) ---------------------------------------------------------------


@pytest.fixture
def ops(operator):
    browser = HttpClient(REMOTE_ADDR="192.0.2.1")
    browser.force_login(operator)
    return browser


def test_client_lifecycle_through_the_admin(ops):
    created = ops.post(
        reverse("admin:server_client_add"),
        {
            "name": "Payroll",
            "client_type": "confidential",
            "owner": "",
            "description": "",
            "redirect_uris": "https://payroll.example.com/cb",
            "grant_types": ["authorization_code", "client_credentials"],
            "scope": ["profile"],
            "token_endpoint_auth_method": "",
            "client_uri": "",
            "logo_uri": "",
            "contacts": "",
        },
        follow=True,  # POST -> redirect -> the page that shows the secret once
    )
    assert created.status_code == 200
    client = Client.objects.get(name="Payroll")
    event = last("client_created")
    assert event.client_id == client.client_id
    assert event.actor_label == "operator:root" and event.ip_address == "192.0.2.1"
    assert event.detail["name"] == "Payroll"
    assert created.context["secret"] not in all_stored_text()

    change = reverse("admin:server_client_change", args=[client.pk])
    ops.post(
        change,
        {
            "name": "Payroll v2",
            "description": "",
            "redirect_uris": "https://payroll.example.com/cb",
            "grant_types": ["authorization_code", "client_credentials"],
            "scope": ["profile"],
            "token_endpoint_auth_method": "client_secret_basic",
            "client_uri": "",
            "logo_uri": "",
            "contacts": "",
            "secrets-TOTAL_FORMS": "0",
            "secrets-INITIAL_FORMS": "0",
            "secrets-MIN_NUM_FORMS": "0",
            "secrets-MAX_NUM_FORMS": "0",
        },
    )
    assert last("client_changed").detail["changes"]["name"] == ["Payroll", "Payroll v2"]

    status = "admin:server_client_change_status"
    ops.post(reverse(status, args=[client.pk, "disable"]), {"reason": "leaked secret"})
    disabled = last("client_disabled")
    assert disabled.detail == {"old_status": "active", "new_status": "disabled", "reason": "leaked secret"}
    ops.post(reverse(status, args=[client.pk, "enable"]), {"reason": ""})
    assert last("client_enabled").detail["new_status"] == "active"

    rotated = ops.post(
        reverse("admin:server_client_rotate_secret", args=[client.pk]), {"grace": "1h"}, follow=True
    )
    assert rotated.status_code == 200
    rotation = last("client_secret_rotated")
    assert (
        rotation.detail["new_secret_prefix"] == ClientSecret.objects.filter(client=client).latest("id").prefix
    )
    assert rotated.context["secret"] not in all_stored_text()

    old = ClientSecret.objects.filter(client=client).earliest("id")
    ops.post(reverse("admin:server_client_expire_secret", args=[client.pk, old.pk]))
    assert last("client_secret_expired").detail["secret_id"] == old.pk

    ops.post(reverse("admin:server_client_delete", args=[client.pk]), {"post": "yes"})
    deleted = last("client_deleted")
    assert deleted.client_id == client.client_id and deleted.detail["name"] == "Payroll v2"


def test_approving_a_pending_client_through_the_admin_action(ops, make_client):
    pending, _ = make_client("Waiting", status=Client.Status.PENDING)
    approve_from_the_list(ops, reverse("admin:server_client_changelist"), "approve_selected", [pending.pk])
    assert count("client_approved") == 1  # one event per fact, the confirmation page's none
    approved = last("client_approved")
    assert approved.client_id == pending.client_id
    assert approved.detail["old_status"] == "pending"


def test_bulk_revocation_in_the_admin_is_one_event_with_count_and_filter(ops, http, app):
    client, _ = app
    for _ in range(3):
        client_credentials(http, app)
    done = ops.post(
        reverse("admin:server_token_bulk_revoke"),
        {"client_id": client.client_id, "reason": "compromised", "confirm": "yes"},
    )
    assert done.status_code == 302
    assert count("tokens_revoked") == 1
    bulk = last("tokens_revoked")
    assert bulk.detail["count"] == 3
    assert bulk.detail["criteria"] == {"client_id": client.client_id}
    assert bulk.detail["reason"] == "compromised"
    assert bulk.actor_label == "operator:root"


def test_initial_access_token_created_in_the_admin(ops):
    response = ops.post(
        reverse("admin:server_initialaccesstoken_add"),
        {
            "description": "partner onboarding",
            "expires_at_0": (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%d"),
            "expires_at_1": "12:00:00",
            "max_registrations": "2",
            "allowed_scope": ["profile"],
            "allowed_grant_types": ["authorization_code"],
        },
        follow=True,
    )
    assert response.status_code == 200  # the new token is shown once, on the page after the redirect
    event = last("initial_access_token_created")
    assert event.detail["description"] == "partner onboarding"
    assert event.detail["max_registrations"] == 2
    assert event.actor_label == "operator:root"


def test_a_throttled_request_is_one_failure_event(http, app, settings):
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "token_ip": "2/60"}
    assert client_credentials(http, app).status_code == 200
    assert client_credentials(http, app).status_code == 200
    assert client_credentials(http, app).status_code == 429
    event = last("request_throttled")
    assert count("request_throttled") == 1
    assert event.outcome == "failure"
    assert event.client_id == app[0].client_id
    assert event.ip_address == "203.0.113.9"
    assert event.detail["scope"] == "token" and event.detail["limit"] == "token_ip"
    assert event.detail["retry_after"] >= 1
