"""Layout the walk through the console found at 1366 px (docs/screenshots/walk-2026-12/): the
client page's checkbox lists (grant types, scopes) used the width of a field label, so every scope
wrapped into a 160 px column, and the device-code grant broke mid-word."""

import pytest
from django.core.cache import cache

from server import services
from tests.browser.conftest import screenshot
from tests.browser.test_operator_console import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_the_client_pages_checkbox_lists_are_not_squeezed_into_a_label_column(
    live_server, page, operator, make_client
):
    cache.clear()
    client, _secret = make_client("Photo Printer", scope=["openid", "profile"])
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, f"/admin/server/client/{client.pk}/change/")
    page.get_by_role("heading", name="Change client").wait_for()
    for option in ("id_scope_0", "id_grant_types_3"):  # openid's long description; the device_code URN
        label = page.locator(f"label[for={option}]")
        box = label.bounding_box()
        # Before: 170 px wide and 65 px high (four lines) for openid, two for the URN.
        assert box["width"] > 200 and box["height"] < 30, f"{option} wraps onto several lines: {box}"
    screenshot(page, "walk-client-checkbox-lists")


def test_the_api_pages_allowed_clients_label_stands_before_its_selector(live_server, page, operator):
    """Before: SelectFilter2.js put the two-list selector at the start of the form row, so the
    "Allowed clients" label stood after it, at the right edge of the page."""
    cache.clear()
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "/admin/server/api/add/")
    page.get_by_role("heading", name="Add API").wait_for()
    label = page.locator("label[for=id_allowed_clients]").bounding_box()
    selector = page.locator(".field-allowed_clients .selector").bounding_box()
    assert label["x"] < selector["x"], (label, selector)
    assert page.get_by_label("Allow any client").count() == 1
    screenshot(page, "walk-api-add")


def test_device_authorizations_show_the_date_over_the_time(live_server, page, operator, make_client):
    """Before: the list loaded no list stylesheet, so admin_cells.moment's date and time ran
    together ("2026-12-0619:07")."""
    cache.clear()
    client, _secret = make_client("TV app", grant_types=["urn:ietf:params:oauth:grant-type:device_code"])
    services.start_device_authorization(
        client=client,
        scope="profile",
        device_code="odc_walk_0",
        user_code="BCDFGHJK",
        expires_in=600,
        interval=5,
    )
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "/admin/server/deviceauthorization/")
    page.get_by_role("heading", name="Select device authorization to view").wait_for()
    cell = page.locator("td.field-list_created_at time")
    cell.wait_for()
    date, time = cell.locator("span").all()
    assert date.bounding_box()["y"] < time.bounding_box()["y"], "the time stands under the date"
    assert " " not in cell.inner_text().strip().split("\n")[0]


def test_the_admin_sign_in_card_keeps_its_header_on_one_row(live_server, page, end_user):
    """Before: the console's navbar, squeezed into the 28em sign-in card, wrapped onto three rows
    (brand, site links, who is signed in), for a visitor and for a person who is not staff."""
    cache.clear()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    assert page.locator("#header").bounding_box()["height"] < 70
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/admin/")
    page.get_by_text("You are authenticated as alice").wait_for()
    assert page.locator("#header").bounding_box()["height"] < 70
    assert page.get_by_role("button", name="Sign out").is_visible()
