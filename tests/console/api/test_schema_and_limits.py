"""The OpenAPI schema and its page, and the API's rate limits."""

import time
from types import SimpleNamespace

import pytest
import yaml
from django.test import Client as HttpClient

from oauth_console.api import base
from server import signals

from .conftest import api_with, assert_problem

pytestmark = pytest.mark.django_db


def test_the_schema_is_served_and_lists_every_endpoint():
    response = HttpClient().get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/clients"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/api/v1/clients/{client_id}"])
    assert "post" in paths["/api/v1/tokens/revoke"]
    assert "get" in paths["/api/v1/audit-events/export"]
    scheme = schema["components"]["securitySchemes"]["operatorToken"]
    assert "console:clients:write" in scheme["flows"]["clientCredentials"]["scopes"]


def test_the_schema_says_an_approval_names_the_settings_it_approves():
    """POST /clients/{id}/approve takes the settings_fingerprint a read of the client answers, and
    documents the 409 that shows the client as it is now (docs/api.md)."""
    schema = yaml.safe_load(HttpClient().get("/api/v1/schema/").content)
    approve = schema["paths"]["/api/v1/clients/{client_id}/approve"]["post"]
    body = approve["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "settings_fingerprint" in schema["components"]["schemas"][body]["properties"]
    conflict = approve["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "client" in schema["components"]["schemas"][conflict]["properties"]
    client = schema["components"]["schemas"]["ClientOut"]
    assert "settings_fingerprint" in client["properties"] and "settings_fingerprint" in client["required"]


def test_the_docs_page_uses_only_our_own_assets():
    response = HttpClient().get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert "<script>" not in html  # the init script is a file (?script), the CSP allows no inline one
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in html
    script = HttpClient().get("/api/v1/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


@pytest.fixture
def mid_window(monkeypatch):
    """The API limiter's clock stopped in the middle of a minute: its windows are fixed, and a
    test whose requests straddled a window's end saw its counts start again (a 200 where the
    limit answers 429, once in a full run)."""
    frozen = int(time.time()) // 60 * 60 + 30.0
    monkeypatch.setattr(base, "time", SimpleNamespace(time=lambda: frozen))


def test_requests_per_caller_are_limited(settings, mid_window):
    settings.OAUTH2_RATE_LIMITS = {"api_client": "3/60"}
    api = api_with(["console:clients:read"])
    for _ in range(3):
        assert api.get("/api/v1/clients").status_code == 200
    heard = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    signals.request_throttled.connect(listener)
    try:
        response = api.get("/api/v1/clients")
    finally:
        signals.request_throttled.disconnect(listener)
    assert_problem(response, 429, "rate-limited")
    assert int(response["Retry-After"]) >= 1
    [throttle] = heard
    assert throttle["limit"] == "api_client" and throttle["client_id"] == api.client.client_id
    assert throttle["actor"].label == f"client:{api.client.client_id}"
    # Another caller is not affected.
    assert api_with(["console:clients:read"]).get("/api/v1/clients").status_code == 200


def test_requests_per_address_are_limited_before_the_token_is_checked(settings, mid_window):
    settings.OAUTH2_RATE_LIMITS = {"api_ip": "2/60"}
    guesser = HttpClient()
    for _ in range(2):
        assert guesser.get("/api/v1/clients", HTTP_AUTHORIZATION="Bearer oat_guess").status_code == 401
    assert_problem(guesser.get("/api/v1/clients", HTTP_AUTHORIZATION="Bearer oat_guess"), 429)


def test_limits_off(settings):
    settings.OAUTH2_RATE_LIMIT_ENABLED = False
    settings.OAUTH2_RATE_LIMITS = {"api_client": "1/60"}
    api = api_with(["console:clients:read"])
    assert all(api.get("/api/v1/clients").status_code == 200 for _ in range(3))


def test_the_schema_as_json():
    response = HttpClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "oauth-console operator API"


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/docs/?script", "/api/v1/schema/"])
def test_a_refusal_at_the_schema_and_its_docs_is_problem_json_whatever_they_render(path):
    """`?format=` a page does not render is a 404 problem. The docs page renders a template and the
    schema YAML: the problem's body came out as the site's HTML 404 page (the docs) or as YAML
    (the schema), each labelled application/problem+json."""
    separator = "&" if "?" in path else "?"
    assert_problem(HttpClient().get(f"{path}{separator}format=nope"), 404, "not-found")
