"""Reloading the page that shows a new secret repeats nothing (issue 11, item 14).

Before: the secret was rendered in the POST's response, so a reload re-posted the form: a second
client, or a second rotation that killed the secret just copied. Now POST -> redirect -> GET.
"""

import pytest
from django.core.cache import cache

from server import credentials
from server.models import Client, ClientSecret
from tests.browser.conftest import screenshot
from tests.browser.test_operator_console import get_token, machine_client, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def plain_http(settings, monkeypatch):
    settings.OAUTH2_REQUIRE_HTTPS = False
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    cache.clear()


def test_reloading_the_new_client_secret_page_creates_no_second_client(live_server, page, operator):
    base = live_server.url
    sign_in(page, base, "/admin/server/client/add/")
    page.locator("#id_name").fill("Reload service")
    page.locator("#id_client_type").select_option("confidential")
    page.locator("#id_redirect_uris").fill("https://reload.example.com/callback")
    page.locator("input[name=grant_types][value=client_credentials]").check()
    page.locator("input[name=scope][value=profile]").check()
    page.get_by_role("button", name="Create client").click()
    page.get_by_role("heading", name="Client Reload service created").wait_for()
    client_id = page.locator("#client-id").inner_text().strip()
    secret = page.locator("#client-secret").input_value()
    assert secret.startswith(credentials.PREFIXES["client_secret"])
    assert secret not in page.url

    page.reload()
    page.get_by_text("This secret was already shown").wait_for()
    assert secret not in page.content()
    screenshot(page, "console-secret-reloaded")

    assert Client.objects.filter(name="Reload service").count() == 1
    response = get_token(base, client_id, secret)
    assert response.status_code == 200, response.text


def test_reloading_the_rotated_secret_page_rotates_nothing(live_server, page, operator):
    base = live_server.url
    client, _old = machine_client("Rotate-reload service")
    sign_in(page, base, f"/admin/server/client/{client.pk}/rotate-secret/")
    page.get_by_label("Immediately").check()
    page.get_by_role("button", name="Rotate secret").click()
    page.get_by_role("heading", name="New secret for Rotate-reload service").wait_for()
    secret = page.locator("#client-secret").input_value()

    page.reload()
    page.get_by_text("This secret was already shown").wait_for()
    assert ClientSecret.objects.filter(client=client).count() == 2
    response = get_token(base, client.client_id, secret)
    assert response.status_code == 200, response.text


def test_reloading_the_portal_secret_page_registers_no_second_app(live_server, page, developer_user):
    base = live_server.url
    sign_in_as(page, base, "/developers/apps/new/", developer_user)
    page.get_by_role("textbox", name="Name").fill("Reload app")
    page.get_by_label("Redirect URIs").fill("https://reload.example.com/callback")
    page.get_by_role("button", name="Register app").click()
    page.get_by_role("heading", name="Reload app is registered").wait_for()
    secret = page.locator("#client-secret").input_value()
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied to the clipboard.").wait_for()

    page.reload()
    page.get_by_text("This secret was already shown").wait_for()
    assert secret not in page.content()
    assert Client.objects.filter(name="Reload app").count() == 1
    assert Client.objects.get(name="Reload app").check_client_secret(secret)


@pytest.fixture
def developer_user(django_user_model):
    return django_user_model.objects.create_user("devon", "devon@example.com", "devon-password-123")


def sign_in_as(page, base_url: str, next_path: str, user) -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("devon-password-123")
    page.get_by_role("button", name="Sign in").click()
