"""The operator console, end to end in Chromium against the live server.

An operator signs in, creates a confidential client and reads its secret once, gets a token
with it; rotates the secret with a grace period (both work), expires the old one (it fails);
disables a client (its token is rejected at once); bulk-revokes a user's tokens through the
autocomplete filter; exports clients and imports them again; opens the dashboard.
"""

import csv
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import requests
from django.core.cache import cache
from playwright.sync_api import Error as PlaywrightError

from server import credentials, services
from server.actors import Actor
from server.models import Client, Token
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

OPERATOR_PASSWORD = "root-password-123"  # the shared `operator` fixture's


@pytest.fixture(autouse=True)
def plain_http(settings, monkeypatch):
    """The live server speaks plain HTTP; let the protocol endpoints accept it for this test."""
    settings.OAUTH2_REQUIRE_HTTPS = False
    settings.CONSOLE_DASHBOARD_CACHE_SECONDS = 0
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    cache.clear()  # rate-limit counters and cached charts from earlier tests


def sign_in(page, base_url: str, next_path: str, username: str = "root") -> None:
    page.goto(f"{base_url}/accounts/login/?{urlencode({'next': next_path})}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def machine_client(name: str, **kwargs) -> tuple[Client, str]:
    """A confidential client for client_credentials, made through the one write path."""
    kwargs.setdefault("grant_types", ["client_credentials"])
    kwargs.setdefault("scope", ["profile", "read"])
    return services.create_client(name=name, actor=Actor.system("tests"), **kwargs)


def get_token(base_url: str, client_id: str, secret: str) -> requests.Response:
    """client_credentials with client_secret_basic."""
    return requests.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "profile"},
        auth=(client_id, secret),
        timeout=10,
    )


def api_me(base_url: str, access_token: str) -> requests.Response:
    return requests.get(f"{base_url}/api/me", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def introspect(base_url: str, resource_server: tuple[Client, str], access_token: str) -> dict:
    client, secret = resource_server
    response = requests.post(
        f"{base_url}/oauth/introspect",
        data={"token": access_token},
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_create_a_client_read_its_secret_once_and_get_a_token(live_server, page, operator):
    base = live_server.url
    sign_in(page, base, "/admin/server/client/")
    page.get_by_role("link", name="Add client").click()
    page.locator("#id_name").fill("Billing service")
    page.locator("#id_client_type").select_option("confidential")
    page.locator("#id_redirect_uris").fill("https://billing.example.com/callback")
    page.locator("input[name=grant_types][value=client_credentials]").check()
    page.locator("input[name=scope][value=profile]").check()
    screenshot(page, "console-01-create-client-form")
    page.get_by_role("button", name="Create client").click()

    page.get_by_role("heading", name="Client Billing service created").wait_for()
    assert "only time this secret is shown" in page.content()
    client_id = page.locator("#client-id").inner_text().strip()
    secret = page.locator("#client-secret").input_value()
    assert secret.startswith(credentials.PREFIXES["client_secret"])
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    screenshot(page, "console-02-secret-shown-once")

    # Once: the client's page shows only the beginning of the secret.
    page.get_by_role("link", name="I have stored it").click()
    page.get_by_role("heading", name="Change client").wait_for()
    assert secret not in page.content()
    assert secret[: credentials.DISPLAY_PREFIX_LENGTH] in page.content()
    # Back does not bring the secret page out of the cache (Cache-Control: no-store): Chromium
    # would have to repeat the POST, and refuses.
    try:
        page.go_back()
    except PlaywrightError as error:
        assert "ERR_CACHE_MISS" in str(error)
    else:
        assert secret not in page.content()

    response = get_token(base, client_id, secret)
    assert response.status_code == 200, response.text
    me = api_me(base, response.json()["access_token"])
    assert me.status_code == 200
    assert me.json()["client_id"] == client_id
    assert Client.objects.get(client_id=client_id).source == Client.Source.OPERATOR


def test_rotate_with_a_grace_period_then_expire_the_old_secret(live_server, page, operator):
    base = live_server.url
    client, old_secret = machine_client("Rotating service")
    sign_in(page, base, f"/admin/server/client/{client.pk}/change/")
    page.get_by_role("link", name="Rotate secret").click()
    page.get_by_label("1 hour").check()
    screenshot(page, "console-03-rotate-form")
    page.get_by_role("button", name="Rotate secret").click()
    page.get_by_role("heading", name="New secret for Rotating service").wait_for()
    new_secret = page.locator("#client-secret").input_value()
    assert new_secret != old_secret

    # During the grace period both secrets authenticate.
    assert get_token(base, client.client_id, old_secret).status_code == 200
    assert get_token(base, client.client_id, new_secret).status_code == 200

    page.get_by_role("link", name="I have stored it").click()
    old_row = page.locator("tr", has_text=old_secret[: credentials.DISPLAY_PREFIX_LENGTH])
    assert "grace period" in old_row.inner_text()
    old_row.get_by_role("link", name="Expire now").click()
    page.get_by_role("button", name="Expire it now").click()
    page.get_by_text("no longer authenticates").wait_for()
    screenshot(page, "console-04-old-secret-expired")

    refused = get_token(base, client.client_id, old_secret)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert get_token(base, client.client_id, new_secret).status_code == 200


def test_disabling_a_client_rejects_its_token_at_once(live_server, page, operator):
    base = live_server.url
    resource_server = machine_client("Resource server", can_introspect_any_token=True)
    client, secret = machine_client("Misbehaving service")
    access_token = get_token(base, client.client_id, secret).json()["access_token"]
    assert api_me(base, access_token).status_code == 200
    assert introspect(base, resource_server, access_token)["active"] is True

    sign_in(page, base, f"/admin/server/client/{client.pk}/change/")
    page.get_by_role("link", name="Disable client").click()
    page.get_by_label("Reason").fill("Hammering the API")
    page.get_by_role("button", name="Disable client").click()
    page.get_by_text("Misbehaving service is now disabled.").wait_for()
    screenshot(page, "console-05-client-disabled")

    assert api_me(base, access_token).status_code == 401
    assert introspect(base, resource_server, access_token) == {"active": False}
    # A disabled client cannot authenticate: invalid_client, 401 as it used Basic (RFC 6749 §5.2).
    refused = get_token(base, client.client_id, secret)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    # Nothing was deleted or revoked: enabling brings the unexpired token back.
    page.get_by_role("link", name="Enable client").click()
    page.get_by_role("button", name="Enable client").click()
    page.get_by_text("Misbehaving service is now active.").wait_for()
    assert api_me(base, access_token).status_code == 200


def test_bulk_revoke_a_users_tokens(live_server, page, operator, end_user, django_user_model):
    base = live_server.url
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")
    web, _ = services.create_client(
        name="Web app",
        actor=Actor.system("tests"),
        redirect_uris=["https://web.example.com/cb"],
        scope=["profile"],
    )
    alice_tokens = []
    for grant in ("authorization_code", "refresh_token"):
        plain = credentials.generate("access_token")
        services.store_token(
            {"access_token": plain, "token_type": "Bearer", "scope": "profile", "expires_in": 3600},
            client=web,
            user=end_user,
            grant_type=grant,
        )
        alice_tokens.append(plain)
    bobs = credentials.generate("access_token")
    services.store_token(
        {"access_token": bobs, "token_type": "Bearer", "scope": "profile", "expires_in": 3600},
        client=web,
        user=bob,
        grant_type="authorization_code",
    )
    assert api_me(base, alice_tokens[0]).status_code == 200

    sign_in(page, base, "/admin/server/token/")
    # Nothing picked yet: select2 shows each filter's placeholder.
    for name in ("client", "user"):
        box = page.locator(f"select[data-autocomplete-filter={name}] + .select2")
        assert box.locator(".select2-selection__placeholder").inner_text() == f"Any {name}"
    # The user filter is an autocomplete: type, pick, and the list reloads filtered.
    page.locator("select[data-autocomplete-filter=user] + .select2").click()
    page.locator(".select2-search__field").fill("alic")
    page.locator(".select2-results__option", has_text="alice").click()
    page.wait_for_url(lambda url: f"user={end_user.pk}" in url)
    assert page.locator("#result_list tbody tr").count() == 2
    screenshot(page, "console-06-tokens-filtered-by-user")

    page.get_by_role("link", name="Revoke in bulk…").click()
    assert page.locator("#id_username").input_value() == "alice"
    page.get_by_role("button", name="Count the tokens…").click()
    assert "2 tokens will be revoked" in page.locator("#revoke-count").inner_text()
    screenshot(page, "console-07-bulk-revoke-confirm")
    page.get_by_role("button", name="Revoke 2 tokens").click()
    page.get_by_text("2 tokens revoked.").wait_for()

    assert Token.objects.filter(user=end_user, revoked_at__isnull=True).count() == 0
    assert set(Token.objects.filter(user=end_user).values_list("revoked_by", flat=True)) == {"operator:root"}
    for plain in alice_tokens:
        assert api_me(base, plain).status_code == 401
    assert api_me(base, bobs).status_code == 200


def test_export_then_reimport_clients(live_server, page, operator, tmp_path):
    base = live_server.url
    worker, _ = machine_client("Nightly worker")
    services.create_client(
        name="Phone app",
        actor=Actor.system("tests"),
        client_type=Client.Type.PUBLIC,
        redirect_uris=["com.example.phone:/callback"],
        scope=["profile"],
    )
    sign_in(page, base, "/admin/server/client/")
    page.get_by_role("link", name="Export", exact=True).click()
    page.locator("#id_format").select_option(label="csv")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Submit").click()
    exported = tmp_path / "clients.csv"
    download_info.value.save_as(exported)
    rows = list(csv.DictReader(exported.open()))
    assert {row["name"] for row in rows} == {"Nightly worker", "Phone app"}
    assert not [column for column in rows[0] if "secret" in column or "digest" in column]

    for client in Client.objects.all():
        services.delete_client(client, actor=Actor.system("tests"))

    page.goto(f"{base}/admin/server/client/import/")
    page.locator("#id_import_file").set_input_files(str(exported))
    page.locator("#id_format").select_option(label="csv")
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("button", name="Confirm import").wait_for()
    assert not Client.objects.exists()  # the preview wrote nothing
    screenshot(page, "console-08-import-preview")
    page.get_by_role("button", name="Confirm import").click()

    page.get_by_role("heading", name="Secrets of the imported clients").wait_for()
    screenshot(page, "console-09-imported-secrets")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download client-secrets.csv").click()
    secrets_file = tmp_path / "secrets.csv"
    download_info.value.save_as(secrets_file)
    secrets = list(csv.DictReader(secrets_file.open()))
    assert [row["client_id"] for row in secrets] == [worker.client_id]  # the public client has none

    assert {c.name for c in Client.objects.all()} == {"Nightly worker", "Phone app"}
    assert get_token(base, worker.client_id, secrets[0]["client_secret"]).status_code == 200


def test_dashboard(live_server, page, operator, end_user):
    base = live_server.url
    client, secret = machine_client("Busy service")
    for _ in range(3):
        assert get_token(base, client.client_id, secret).status_code == 200
    assert get_token(base, client.client_id, "ocs_wrong").status_code == 401
    old = Token.objects.filter(client=client).first()
    Token.objects.filter(pk=old.pk).update(issued_at=old.issued_at - timedelta(days=3))

    sign_in(page, base, "/admin/")
    page.get_by_role("link", name="Open the operator dashboard").click()
    page.locator("body[data-charts-ready='1']").wait_for()
    assert page.locator("#count-active-tokens").inner_text() == "3"
    assert page.locator("#count-issued-today").inner_text() == "2"
    for chart in ("chart-issued", "chart-auth", "chart-top-clients", "chart-revocations"):
        assert page.locator(f"#{chart}").is_visible()
    assert "Busy service" in page.locator("#top-clients").inner_text()
    screenshot(page, "console-10-dashboard")
