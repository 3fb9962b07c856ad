"""A device-flow walk (RFC 8628) in a real browser: a command-line client asks for a code and
polls while a person opens verification_uri_complete, signs in, checks the prefilled code,
continues to the consent page and allows; the next poll gets the token."""

import pytest
import requests
from django.core.cache import cache

from server import services
from server.actors import Actor
from server.models import Client
from server.oauth2.device import DEVICE_CODE_GRANT_TYPE
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def plain_http(settings, monkeypatch):
    settings.OAUTH2_REQUIRE_HTTPS = False
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    cache.clear()


def _poll(base: str, client_id: str, device_code: str) -> requests.Response:
    data = {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": device_code, "client_id": client_id}
    return requests.post(f"{base}/oauth/token", data=data, timeout=10)


def test_a_person_approves_a_cli_by_typing_nothing_but_checking_the_code(live_server, page, end_user):
    base = live_server.url
    cli, _ = services.create_client(
        name="Deploy CLI",
        client_type=Client.Type.PUBLIC,
        redirect_uris=[],
        grant_types=[DEVICE_CODE_GRANT_TYPE, "refresh_token"],
        scope=["profile", "read"],
        actor=Actor.system("tests"),
    )
    started = requests.post(
        f"{base}/oauth/device_authorization", data={"client_id": cli.client_id, "scope": "read"}, timeout=10
    )
    assert started.status_code == 200, started.text
    body = started.json()
    assert _poll(base, cli.client_id, body["device_code"]).json()["error"] == "authorization_pending"

    page.goto(body["verification_uri_complete"])
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-123")
    page.get_by_role("button", name="Sign in").click()
    code_box = page.get_by_label("Code")
    code_box.wait_for()
    assert code_box.input_value() == body["user_code"]
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Deploy CLI wants to access your account").wait_for()
    assert page.locator("#device-user-code").inner_text() == body["user_code"]
    screenshot(page, "device-consent")
    page.get_by_role("button", name="Allow").click()
    page.get_by_role("heading", name="Device connected").wait_for()

    token = _poll(base, cli.client_id, body["device_code"])
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "read"
    me = requests.get(
        f"{base}/api/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=10
    )
    assert me.status_code == 403  # the person allowed "read" only, and /api/me needs "profile"
