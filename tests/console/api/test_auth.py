"""Who may call the API: our own client_credentials tokens with the endpoint's operator scope,
or a staff session (CSRF-checked). Every endpoint refuses the others the same way."""

import pytest
import time_machine
from django.test import Client as HttpClient
from django.utils import timezone

from server import services
from server.actors import Actor
from server.models import Client, Token
from tests.server.helpers import REDIRECT_URI, exchange_code, get_code

from .conftest import ALL_SCOPES, Api, api_with, assert_problem

pytestmark = pytest.mark.django_db

# Every endpoint, with the method and the scope it needs.
ENDPOINTS = [
    ("GET", "/api/v1/clients", "console:clients:read"),
    ("POST", "/api/v1/clients", "console:clients:write"),
    ("GET", "/api/v1/clients/{client}", "console:clients:read"),
    ("PUT", "/api/v1/clients/{client}", "console:clients:write"),
    ("PATCH", "/api/v1/clients/{client}", "console:clients:write"),
    ("DELETE", "/api/v1/clients/{client}", "console:clients:write"),
    ("POST", "/api/v1/clients/{client}/disable", "console:clients:write"),
    ("POST", "/api/v1/clients/{client}/enable", "console:clients:write"),
    ("POST", "/api/v1/clients/{client}/approve", "console:clients:write"),
    ("POST", "/api/v1/clients/{client}/reject", "console:clients:write"),
    ("GET", "/api/v1/clients/{client}/secrets", "console:clients:read"),
    ("POST", "/api/v1/clients/{client}/secrets/rotate", "console:clients:write"),
    ("POST", "/api/v1/clients/{client}/secrets/1/expire", "console:clients:write"),
    ("GET", "/api/v1/tokens", "console:clients:read"),
    ("POST", "/api/v1/tokens/revoke", "console:tokens:revoke"),
    ("GET", "/api/v1/consents", "console:clients:read"),
    ("DELETE", "/api/v1/consents/1", "console:tokens:revoke"),
    ("GET", "/api/v1/initial-access-tokens", "console:clients:read"),
    ("POST", "/api/v1/initial-access-tokens", "console:clients:write"),
    ("POST", "/api/v1/initial-access-tokens/1/revoke", "console:clients:write"),
    ("GET", "/api/v1/audit-events", "console:audit:read"),
    ("GET", "/api/v1/audit-events/export", "console:audit:read"),
    ("GET", "/api/v1/signing-keys", "console:keys:write"),
    ("POST", "/api/v1/signing-keys/rotate", "console:keys:write"),
    ("POST", "/api/v1/signing-keys/some-kid/revoke", "console:keys:write"),
    ("GET", "/api/v1/webhooks", "console:webhooks:write"),
    ("POST", "/api/v1/webhooks", "console:webhooks:write"),
    ("GET", "/api/v1/webhooks/1", "console:webhooks:write"),
    ("PATCH", "/api/v1/webhooks/1", "console:webhooks:write"),
    ("DELETE", "/api/v1/webhooks/1", "console:webhooks:write"),
    ("POST", "/api/v1/webhooks/1/secret/rotate", "console:webhooks:write"),
    ("POST", "/api/v1/webhooks/1/test", "console:webhooks:write"),
    ("GET", "/api/v1/webhooks/1/deliveries", "console:webhooks:write"),
    ("POST", "/api/v1/webhooks/1/deliveries/1/replay", "console:webhooks:write"),
]
IDS = [f"{method} {path}" for method, path, _ in ENDPOINTS]


@pytest.fixture
def target(db) -> Client:
    client, _ = services.create_client(
        name="Target", actor=Actor.system("t"), redirect_uris=["https://t.example.com/cb"]
    )
    return client


def call(api: Api, method: str, path: str, target: Client, **headers):
    path = path.format(client=target.client_id)
    if method == "GET":
        return api.get(path, **headers)
    return api.send(method, path, {} if method != "DELETE" else None, **headers)


def unchanged(target: Client) -> None:
    assert Client.objects.filter(pk=target.pk, status="active", name="Target").exists()


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS, ids=IDS)
def test_no_token_is_401_with_the_bare_challenge(anonymous, target, method, path, scope):
    response = call(anonymous, method, path, target)
    body = assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer realm=")
    assert "error=" not in response["WWW-Authenticate"]
    assert "error" not in body
    unchanged(target)


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS, ids=IDS)
def test_wrong_scope_is_403_insufficient_scope(target, method, path, scope):
    others = [s for s in ALL_SCOPES if s != scope and not (scope == "console:keys:write" and method == "GET")]
    if method == "GET" and path == "/api/v1/signing-keys":
        others = ["console:audit:read", "console:tokens:revoke"]
    api = api_with(others)
    response = call(api, method, path, target)
    body = assert_problem(response, 403, "insufficient-scope")
    assert body["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert scope in response["WWW-Authenticate"]
    unchanged(target)


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS, ids=IDS)
def test_the_right_scope_alone_gets_past_authorisation(target, method, path, scope):
    response = call(api_with([scope]), method, path, target)
    assert response.status_code not in (401, 403), (response.status_code, response.content[:300])


def test_an_expired_token_is_401_invalid_token(api, target):
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2)):
        response = api.get("/api/v1/clients")
    body = assert_problem(response, 401, "invalid-token")
    assert body["error"] == "invalid_token"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_revoked_token_is_401(api):
    Token.objects.update(revoked_at=timezone.now())
    assert_problem(api.get("/api/v1/clients"), 401, "invalid-token")


def test_a_disabled_clients_token_is_401(api):
    services.set_client_status(api.client, "disabled", actor=Actor.system("t"), reason="test")
    assert_problem(api.get("/api/v1/clients"), 401, "invalid-token")
    services.set_client_status(api.client, "active", actor=Actor.system("t"), reason="back")
    assert api.get("/api/v1/clients").status_code == 200


def test_an_unknown_or_malformed_token_is_401(anonymous):
    for value in ("oat_not-a-real-token", "a b c", "x" * 5000, "\u00e9t\u00e9"):
        response = anonymous.get("/api/v1/clients", HTTP_AUTHORIZATION=f"Bearer {value}")
        assert_problem(response, 401)


def test_basic_credentials_are_not_a_bearer_token(anonymous):
    response = anonymous.get("/api/v1/clients", HTTP_AUTHORIZATION="Basic YTpi")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_in_the_url_is_refused(api):
    response = api.http.get("/api/v1/clients", {"access_token": api.token})
    assert_problem(response, 400, "invalid-request")


def test_a_users_token_is_refused_even_with_an_ordinary_scope(end_user, client):
    """A token with an end user behind it (authorization code) never reaches the API."""
    app, secret = services.create_client(
        name="Web app", actor=Actor.system("t"), redirect_uris=[REDIRECT_URI], scope=["profile"]
    )
    client.force_login(end_user)
    code, verifier = get_code(client, app.client_id)
    token = exchange_code(HttpClient(), app.client_id, secret, code, verifier).json()["access_token"]
    response = HttpClient().get("/api/v1/clients", HTTP_AUTHORIZATION=f"Bearer {token}")
    body = assert_problem(response, 401, "invalid-token")
    assert "client_credentials" in body["detail"]


# --- the staff session -------------------------------------------------------------------------


def test_a_staff_session_reads_and_writes_with_csrf(operator):
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(operator)
    assert browser.get("/api/v1/clients").status_code == 200
    refused = browser.post("/api/v1/clients", '{"name": "X"}', content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    browser.get("/api/v1/docs/")  # any page that sets the CSRF cookie
    token = browser.cookies.get("csrftoken")
    if token is None:
        from django.middleware.csrf import _get_new_csrf_string

        token_value = _get_new_csrf_string()
        browser.cookies["csrftoken"] = token_value
    else:
        token_value = token.value
    body = '{"name": "From the browser", "grant_types": ["client_credentials"]}'
    created = browser.post(
        "/api/v1/clients", body, content_type="application/json", HTTP_X_CSRFTOKEN=token_value
    )
    assert created.status_code == 201, created.content
    from oauth_console.audit.models import AuditEvent

    event = AuditEvent.objects.filter(
        event_type="client_created", client_id=created.json()["client_id"]
    ).get()
    assert event.actor_label == f"operator:{operator.username}"


def test_a_session_without_staff_or_permission(django_user_model):
    plain = django_user_model.objects.create_user("plain", password="pw-123456789")
    browser = HttpClient()
    browser.force_login(plain)
    assert_problem(browser.get("/api/v1/clients"), 401)
    staff = django_user_model.objects.create_user("staff", password="pw-123456789", is_staff=True)
    browser.force_login(staff)
    assert_problem(browser.get("/api/v1/clients"), 403, "forbidden")


def test_the_browsable_pages_render_for_an_operator(operator):
    browser = HttpClient()
    browser.force_login(operator)
    page = browser.get("/api/v1/clients", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert b"<script>" not in page.content  # only script files (and a JSON data block): our CSP holds
    missing = browser.get("/api/v1/clients/nope", HTTP_ACCEPT="text/html")
    assert missing.status_code == 404
