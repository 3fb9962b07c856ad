"""The machine endpoints skip Django's browser layers (`server.machine_endpoints`,
`oauth_console.browser_layers`): no session, no `request.user`, no messages, no CSRF token;
every other path keeps them."""

import pytest
from django.urls import reverse

from server.machine_endpoints import MACHINE_ENDPOINTS, is_machine_request
from tests.server.helpers import basic_auth, form

pytestmark = pytest.mark.django_db

BROWSER_LAYERS = ("session", "user", "_messages")  # what each layer sets on the request


@pytest.fixture
def app(make_client):
    return make_client("Machine-endpoint app")


def test_every_machine_endpoint_is_routed():
    # A name that no longer reverses would silently put its path back behind the browser layers.
    for name in MACHINE_ENDPOINTS:
        assert reverse(name).startswith("/"), name


def client_credentials(http, app):
    oauth_app, secret = app
    return form(
        http,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "profile"},
        HTTP_AUTHORIZATION=basic_auth(oauth_app.client_id, secret),
    )


def test_a_token_request_runs_without_the_browser_layers(client, app, end_user):
    client.force_login(end_user)  # a session cookie rides along: it is not read
    response = client_credentials(client, app)
    assert response.status_code == 200, response.content
    request = response.wsgi_request
    assert [layer for layer in BROWSER_LAYERS if hasattr(request, layer)] == []
    assert "Cookie" not in response.get("Vary", "") and not response.cookies


@pytest.mark.parametrize("name", ["oauth-metadata", "oidc-configuration", "oauth-jwks"])
def test_public_metadata_runs_without_the_browser_layers(client, name):
    response = client.get(reverse(name), secure=True)
    assert response.status_code == 200
    assert [layer for layer in BROWSER_LAYERS if hasattr(response.wsgi_request, layer)] == []


def test_the_bearer_protected_api_gets_its_user_from_the_token_only(client, app, end_user):
    token = client_credentials(client, app).json()["access_token"]
    client.force_login(end_user)
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}", secure=True)
    assert response.status_code == 200
    assert not hasattr(response.wsgi_request, "session")


def test_browser_pages_keep_sessions_users_and_csrf(client):
    page = client.get(reverse("login"), secure=True)
    assert page.status_code == 200
    assert all(hasattr(page.wsgi_request, layer) for layer in BROWSER_LAYERS)
    # CSRF still guards the sign-in form.
    checked = client.__class__(enforce_csrf_checks=True)
    refused = checked.post(reverse("login"), {"username": "a", "password": "b"}, secure=True)
    assert refused.status_code == 403


def test_machine_paths_do_not_depend_on_the_script_prefix(rf):
    from django.urls import set_script_prefix

    from server.machine_endpoints import _paths_of

    _paths_of.cache_clear()  # computed afresh under the prefix
    try:
        set_script_prefix("/auth/")  # mounted under /auth/: path_info is still /oauth/token
        request = rf.post("/oauth/token", SCRIPT_NAME="/auth")
        assert request.path == "/auth/oauth/token" and is_machine_request(request)
    finally:
        set_script_prefix("/")
        _paths_of.cache_clear()
    assert is_machine_request(rf.post("/oauth/token"))
    assert not is_machine_request(rf.post("/oauth/token/"))
    assert not is_machine_request(rf.get("/accounts/login/"))


def test_the_machine_paths_follow_a_changed_urlconf(settings, rf):
    """The paths are computed once per URL configuration: one computed while a test (or a
    project's setting) routed another urlconf must not stay. Before, the first urlconf's answer
    was cached for the process, so a token request after a test with the spec's urls.py ran
    through the session, user and message layers (an order-dependent failure of this file)."""
    from server.machine_endpoints import machine_paths

    token, project = reverse("oauth-token"), settings.ROOT_URLCONF
    settings.ROOT_URLCONF = "tests.oauth2.verbatim.urls"
    assert token not in machine_paths()  # the spec's urls.py routes no oauth-token
    settings.ROOT_URLCONF = project
    assert is_machine_request(rf.post(token))
