"""The pages of developers and end users at a phone's width (390 px): nothing wider than the screen.

The walk of December 2026 (second round) found the developer's app page wider than the screen for
every app waiting for approval (the name and the "Pending approval" badge on one row that cannot
wrap), and a long client name (100 characters, one word, as the name policy allows) pushing the
authorized apps' card title and the delete confirmation's Cancel button off the screen.
"""

from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from server import services
from server.models import Client
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LONG_NAME = "Supercalifragilisticexpialidocious-Enterprise-Integration-Connector-Service"
# What sticks out past the right edge: the element, its class and where it ends.
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 3)
  .map((e) => `${e.tagName}.${e.className} ends at ${Math.round(e.getBoundingClientRect().right)}`)"""


def sign_in(page, base: str, username: str, password: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?{urlencode({'next': next_path})}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def fits_the_screen(page, path: str, base: str) -> None:
    response = page.goto(f"{base}{path}")
    assert response.status == 200, path
    page.locator("h1").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide: {page.evaluate(OVERFLOWING)}"


@pytest.fixture
def developer(django_user_model):
    return django_user_model.objects.create_user("dana", "dana@example.com", "dana-password-123")


def test_a_developers_pages_fit_a_phone(live_server, page, developer, make_client):
    cache.clear()
    pending = Client.Status.PENDING
    make_client("Internationalisation tools", owner=developer, status=pending, client_id="pending-app")
    make_client(LONG_NAME, owner=developer, client_id="long-name-app")
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, "dana", "dana-password-123", "/developers/")
    # An app as every developer's app starts: pending approval, with a short name.
    fits_the_screen(page, "/developers/apps/pending-app/", live_server.url)
    screenshot(page, "narrow-portal-pending-app")
    for path in ("/developers/apps/long-name-app/", "/developers/apps/long-name-app/delete/"):
        fits_the_screen(page, path, live_server.url)
    assert page.get_by_role("link", name="Cancel").is_visible()
    screenshot(page, "narrow-portal-delete-long-name")


def test_the_authorized_apps_fit_a_phone(live_server, page, end_user, make_client):
    cache.clear()
    client, _secret = make_client(LONG_NAME, client_id="long-name-app")
    services.record_consent(user=end_user, client=client, scope="profile")
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, "alice", "alice-password-123", "/account/apps/")
    for path in ("/account/apps/", "/account/apps/long-name-app/revoke/"):
        fits_the_screen(page, path, live_server.url)
    screenshot(page, "narrow-account-revoke-long-name")
