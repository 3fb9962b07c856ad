"""CSP and inert markup on the pages that landed after the first review (the December attack
review, docs/security.md): every page of the end-session endpoint, the device flow, the APIs and
signing keys in the admin, the API docs and a developer's app page, each rendering hostile names
(an app, an API, a scope description) that would execute if escaping or the policy failed."""

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from server import services
from server.actors import Actor
from server.models import Api, SigningKey
from tests.security.test_content_security_policy import assert_strict_policy, inline_code_in
from tests.server.device_helpers import DEVICE_GRANTS, enter_code, hidden_device_id, start

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>\"'><svg onload=alert(3)>"
BYE = "https://app.example.com/logged-out"


def _clean(response, path: str) -> None:
    assert_strict_policy(response)
    assert inline_code_in(response) == [], path
    body = response.content.decode()
    for fragment in ("<img src=x", "<script>alert", "<svg onload"):
        assert fragment not in body, (path, fragment)


@pytest.fixture
def hostile_app(make_client):
    client, secret = make_client(
        HOSTILE[:100], scope=["openid", "profile"], grant_types=["authorization_code", *DEVICE_GRANTS]
    )
    services.update_client(client, actor=Actor.system("t"), post_logout_redirect_uris=[BYE])
    return client, secret


def test_end_session_pages(hostile_app, end_user):
    client, _ = hostile_app
    browser = HttpClient()
    browser.force_login(end_user)
    confirm = browser.get(
        "/oauth/logout", {"client_id": client.client_id, "post_logout_redirect_uri": BYE, "state": HOSTILE}
    )
    assert confirm.status_code == 200
    _clean(confirm, "logout confirmation")
    assert "&lt;img src=x" in confirm.content.decode()  # the app's name is there, as text
    error = browser.get("/oauth/logout", {"id_token_hint": "x.y.z", "state": HOSTILE})
    assert error.status_code == 400
    _clean(error, "logout error")
    done = HttpClient().get("/oauth/logout", {"client_id": client.client_id})
    assert done.status_code == 200
    _clean(done, "logout done")


def test_device_pages(hostile_app, end_user):
    browser = HttpClient()
    browser.force_login(end_user)
    entry = browser.get("/device", {"user_code": HOSTILE})
    assert entry.status_code == 200
    _clean(entry, "device entry")
    user_code = start(HttpClient(), hostile_app, scope="openid profile").json()["user_code"]
    consent = enter_code(browser, user_code)
    assert consent.status_code == 200
    _clean(consent, "device consent")
    assert "&lt;img src=x" in consent.content.decode()
    done = browser.post("/device", {"device_authorization": hidden_device_id(consent), "confirm": "yes"})
    assert done.status_code == 200
    _clean(done, "device done")


def test_operator_pages_of_apis_and_keys(operator, hostile_app):
    client, _ = hostile_app
    api = services.create_api(
        actor=Actor.system("t"),
        identifier="https://orders.example.com/",
        name=HOSTILE[:80],
        scopes={"orders:read": HOSTILE[:150]},
        allowed_clients=[client.client_id],
    )
    services.create_signing_key(actor=Actor.system("t"))
    key = SigningKey.objects.first()
    http = HttpClient()
    http.force_login(operator)
    pages = [
        reverse("admin:server_api_changelist"),
        reverse("admin:server_api_add"),
        reverse("admin:server_api_change", args=[api.pk]),
        reverse("admin:server_api_import"),
        reverse("admin:server_signingkey_changelist"),
        reverse("admin:server_signingkey_change", args=[key.pk]),
        reverse("admin:server_signingkey_rotate"),
        reverse("admin:server_signingkey_revoke", args=[key.pk]),
        reverse("admin:server_deviceauthorization_changelist"),
        "/api/v1/docs/",
    ]
    for path in pages:
        response = http.get(path)
        assert response.status_code == 200, (path, response.status_code)
        _clean(response, path)
    assert Api.objects.filter(pk=api.pk).exists()


def test_the_consent_page_names_a_hostile_api_inertly(hostile_app, end_user):
    from tests.server.helpers import pkce_pair
    from tests.server.resource_helpers import authorize_query

    client, _ = hostile_app
    services.create_api(
        actor=Actor.system("t"),
        identifier="https://orders.example.com/",
        name=HOSTILE[:80],
        scopes={"orders:read": HOSTILE[:150]},
        allowed_clients=[client.client_id],
    )
    browser = HttpClient()
    browser.force_login(end_user)
    _, challenge = pkce_pair()
    page = browser.get(
        authorize_query(
            client.client_id, challenge, scope="orders:read", resources=["https://orders.example.com/"]
        )
    )
    assert page.status_code == 200
    _clean(page, "consent with an API")
    assert page.content.decode().count("&lt;img src=x") >= 2  # the app's and the API's names


def test_the_operator_apis_browsable_pages(operator, hostile_app):
    """DRF's browsable pages of the operator API, which an operator's browser gets (Accept:
    text/html): the hostile app in the JSON they show, escaped, and no inline code. DRF writes
    Pygments' stylesheet into an inline <style> (for Markdown descriptions, which it renders only
    when Markdown is installed): the policy blocked it on every page, a console error each time."""
    client, _ = hostile_app
    http = HttpClient()
    http.force_login(operator)
    for path in ("/api/v1/clients", f"/api/v1/clients/{client.client_id}", "/api/v1/audit-events"):
        response = http.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, (path, response.status_code)
        assert response["Content-Type"].startswith("text/html"), path
        _clean(response, path)
    assert "&lt;img src=x" in http.get("/api/v1/clients", HTTP_ACCEPT="text/html").content.decode()
