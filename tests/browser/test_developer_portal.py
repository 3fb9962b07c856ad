"""The developer portal and the authorized-apps page, end to end in Chromium against the live server.

A developer registers an app and sees it pending; an operator approves it; the developer reads the
secret (once) and the app completes an authorization-code + PKCE flow; the end user finds the app
under their authorized apps, revokes it, and the app's token is rejected from then on.
"""

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from server.models import Client, Consent
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

DEV_PASSWORD = "dana-password-123"
USER_PASSWORD = "alice-password-123"  # the shared `end_user` fixture's


@pytest.fixture
def plain_http(settings, monkeypatch):
    """The live server speaks plain HTTP; let the protocol endpoints accept it for this test."""
    settings.OAUTH2_REQUIRE_HTTPS = False
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


def sign_in(page, base_url: str, username: str, password: str, next_path: str) -> None:
    page.goto(f"{base_url}/accounts/login/?{urlencode({'next': next_path})}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def test_developer_registers_an_app_that_a_user_authorizes_and_revokes(
    live_server, page, browser, plain_http, django_user_model, end_user, operator
):
    base = live_server.url
    redirect_uri = f"{base}/callback"
    django_user_model.objects.create_user("dana", "dana@example.com", DEV_PASSWORD)

    # --- the developer registers an app --------------------------------------------------------
    sign_in(page, base, "dana", DEV_PASSWORD, "/developers/")
    page.get_by_role("link", name="Register an app").click()
    page.get_by_role("textbox", name="Name").fill("Weather widget")
    page.get_by_label("Homepage URL").fill("https://weather.example.com")
    page.get_by_label("Redirect URIs").fill(redirect_uri)
    page.locator("input[name=client_type][value=confidential]").check()
    page.locator("input[name=scope][value=profile]").check()
    page.locator("input[name=scope][value=email]").check()
    screenshot(page, "portal-01-register-form")
    page.get_by_role("button", name="Register app").click()

    page.get_by_role("heading", name="Weather widget is registered").wait_for()
    client_id = page.locator("#client-id").inner_text().strip()
    secret = page.locator("#client-secret").input_value()
    assert secret.startswith("ocs_")
    screenshot(page, "portal-02-secret-shown-once")

    registered = Client.objects.get(client_id=client_id)
    assert registered.status == Client.Status.PENDING
    assert registered.source == Client.Source.PORTAL

    # Pending: the developer sees it, and it can get no token.
    page.goto(f"{base}/developers/")
    row = page.locator(f"tr[data-client-id='{client_id}']")
    assert row.locator("[data-status]").get_attribute("data-status") == "pending"
    page.get_by_role("link", name="Weather widget").click()
    assert "Waiting for an operator" in page.locator("#status-note").inner_text()
    assert secret not in page.content()  # shown once, never again
    screenshot(page, "portal-03-pending")

    user_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    user_page.set_default_timeout(15_000)
    user_page.route(
        re.compile(r".*/callback(\?.*)?$"),
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>Back at the app</h1>"),
    )
    sign_in(user_page, base, "alice", USER_PASSWORD, "/account/apps/")

    verifier, challenge = pkce_pair()
    authorize = f"{base}/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "profile email",
            "state": "s-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    user_page.goto(authorize)
    assert user_page.get_by_role("button", name="Allow").count() == 0
    assert "code=" not in user_page.url
    screenshot(user_page, "portal-04-pending-app-refused")

    # --- an operator approves it in the console -------------------------------------------------
    operator_context = browser.new_context(viewport={"width": 1280, "height": 900})
    operator_page = operator_context.new_page()
    operator_page.set_default_timeout(15_000)
    approve = f"/admin/server/client/{registered.pk}/status/approve/"
    sign_in(operator_page, base, operator.username, "root-password-123", approve)
    operator_page.get_by_label("Reason").fill("Looks good")
    screenshot(operator_page, "portal-04b-operator-approves")
    operator_page.get_by_role("button", name="Approve client").click()
    operator_page.get_by_text("Weather widget is now active.").wait_for()
    operator_context.close()
    registered.refresh_from_db()
    assert registered.status == Client.Status.ACTIVE

    page.reload()
    assert page.locator("h1 [data-status]").get_attribute("data-status") == "active"
    assert "Looks good" in page.content()

    # --- the end user authorizes it (authorization code + PKCE) --------------------------------
    user_page.goto(authorize)
    user_page.get_by_role("heading", name=re.compile("Weather widget wants to access")).wait_for()
    screenshot(user_page, "portal-05-consent")
    user_page.get_by_role("button", name="Allow").click()
    user_page.wait_for_url(re.compile(r".*/callback\?.*"))
    answer = {k: v[0] for k, v in parse_qs(urlsplit(user_page.url).query).items()}
    assert answer["state"] == "s-1"

    token_response = requests.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
        timeout=10,
    )
    assert token_response.status_code == 200, token_response.text
    access_token = token_response.json()["access_token"]
    me = requests.get(f"{base}/api/me", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["username"] == "alice"

    # Remembered consent: the same request again goes straight back to the app.
    user_page.goto(authorize)
    user_page.wait_for_url(re.compile(r".*/callback\?.*code=.*"))

    # --- the end user sees it under authorized apps and revokes it -----------------------------
    user_page.goto(f"{base}/account/apps/")
    card = user_page.locator(f"[data-client-id='{client_id}']")
    assert "Weather widget" in card.inner_text()
    assert "See your email address" in card.inner_text()
    screenshot(user_page, "portal-06-authorized-apps")
    card.get_by_role("link", name=re.compile("Revoke access")).click()
    user_page.get_by_role("heading", name="Revoke access of Weather widget?").wait_for()
    screenshot(user_page, "portal-07-revoke-confirm")
    user_page.get_by_role("button", name="Revoke access").click()
    user_page.get_by_text("Weather widget can no longer use your account.").wait_for()
    assert user_page.locator(f"[data-client-id='{client_id}']").count() == 0
    screenshot(user_page, "portal-08-revoked")
    assert not Consent.objects.filter(user=end_user, client=registered).exists()

    # The app's token is rejected from now on, and the next authorization asks again.
    rejected = requests.get(f"{base}/api/me", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
    assert rejected.status_code == 401
    user_page.goto(authorize)
    user_page.get_by_role("button", name="Allow").wait_for()

    # The developer's page shows the app was used.
    page.reload()
    assert page.locator("#active-tokens").inner_text().strip() == "0"
    user_page.context.close()
