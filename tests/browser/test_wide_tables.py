"""The operator's tables fit a 1366-pixel screen, even with a 100-character unbroken client name.

Measured in Chromium: no page wider than the window, no table wider than the box it sits in
(which would hide its last columns behind a scroll bar), every column heading on screen, and the
long name shortened with its full value on hover.
"""

from urllib.parse import urlencode

import pytest
import requests
from django.core.cache import cache

from server import services
from server.actors import Actor
from server.models import Token
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

OPERATOR_PASSWORD = "root-password-123"  # the shared `operator` fixture's
WIDTH = 1366
LONG_NAME = "Billing" + "X" * 93  # 100 characters, no break opportunity

MEASURE = """() => {
    const table = document.querySelector("#result_list");
    const box = table.parentElement;
    const measured = {
        page: document.documentElement.scrollWidth,
        table: table.scrollWidth,
        box: box.clientWidth,
        headings: [...table.querySelectorAll("thead th")].map((th) => ({
            text: th.innerText.trim(), right: Math.round(th.getBoundingClientRect().right),
        })),
    };
    // The narrowest the table can be (every column at its minimum): the room left to spare.
    table.style.width = "1px";
    measured.narrowest = table.scrollWidth;
    table.style.width = "";
    return measured;
}"""


@pytest.fixture(autouse=True)
def plain_http(settings, monkeypatch):
    settings.OAUTH2_REQUIRE_HTTPS = False
    settings.CONSOLE_DASHBOARD_CACHE_SECONDS = 0
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    cache.clear()


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": 768})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page, base: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?{urlencode({'next': next_path})}")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_path}")


@pytest.fixture
def long_named_client(live_server, django_user_model):
    """A client with a 100-character name, its tokens (one revoked by an operator) and the audit
    events they leave: the widest values each list shows."""
    client, secret = services.create_client(
        name=LONG_NAME,
        actor=Actor.system("tests"),
        owner=django_user_model.objects.create_user(
            "developer-" + "y" * 60, "dev@example.com", "dev-pw-123456"
        ),
        redirect_uris=["https://billing.example.com/callback"],
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        scope=["profile", "email", "read"],
    )
    for _ in range(2):
        response = requests.post(
            f"{live_server.url}/oauth/token",
            data={"grant_type": "client_credentials", "scope": "profile"},
            auth=(client.client_id, secret),
            headers={"User-Agent": "billing-backend/2.1 (+https://billing.example.com/about/agents)"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
    services.revoke_tokens(
        Token.objects.filter(pk=Token.objects.filter(client=client).values("pk")[:1]),
        actor=Actor.system("a-long-operator-name@example.com"),
        reason="test",
    )
    return client


def assert_fits(page, what: str) -> None:
    measured = page.evaluate(MEASURE)
    screenshot(page, f"wide-{what}")
    assert measured["page"] <= WIDTH, (what, measured["page"])
    assert measured["table"] <= measured["box"], (what, measured["table"], measured["box"])
    off_screen = [h["text"] for h in measured["headings"] if h["right"] > WIDTH]
    assert off_screen == [], (what, off_screen)


def test_client_token_and_audit_lists_fit_1366_pixels(live_server, wide_page, operator, long_named_client):
    page = wide_page
    sign_in(page, live_server.url, "/admin/server/client/")
    assert_fits(page, "clients")
    name = page.locator("#result_list tbody tr").first.locator("[title]").first
    assert name.get_attribute("title") == LONG_NAME  # the full name on hover

    page.goto(f"{live_server.url}/admin/server/token/")
    assert_fits(page, "tokens")
    assert page.locator(f'#result_list [title="{LONG_NAME}"]').count() >= 1

    page.goto(f"{live_server.url}/admin/audit/auditevent/")
    assert_fits(page, "audit")


def test_the_secret_page_of_a_long_named_client_fits_1366_pixels(live_server, wide_page, operator):
    page = wide_page
    sign_in(page, live_server.url, "/admin/server/client/add/")
    page.locator("#id_name").fill(LONG_NAME)
    page.locator("#id_client_type").select_option("confidential")
    page.locator("#id_redirect_uris").fill("https://billing.example.com/callback")
    page.locator("input[name=grant_types][value=client_credentials]").check()
    page.locator("input[name=scope][value=profile]").check()
    page.get_by_role("button", name="Create client").click()
    page.locator("#client-secret").wait_for()

    screenshot(page, "wide-secret-page")
    widths = page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth,
            heading: document.querySelector("main h1").scrollWidth,
        })"""
    )
    assert widths["page"] <= WIDTH and widths["heading"] <= WIDTH, widths
