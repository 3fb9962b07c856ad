"""The webhook pages in Chromium, as an operator uses them: the list (empty, then with the new
webhook), add one and read its signing secret once (a reload shows it no more), its page, send a
test event behind a confirmation (the delivery appears, queued), delete behind a confirmation that
must be ticked. Every page runs without a Content-Security-Policy violation."""

import re

import pytest
from django.core.cache import cache

from oauth_console.webhooks.models import Delivery, Subscription, SubscriptionSecret
from tests.browser.conftest import screenshot
from tests.browser.test_content_security_policy import ViolationWatch
from tests.browser.test_operator_console import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

LIST = "/admin/webhooks/subscription/"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # rate-limit counters from earlier tests


def test_add_a_webhook_read_its_secret_once_send_a_test_event_and_delete_it(live_server, page, operator):
    base = live_server.url
    watch = ViolationWatch(page)
    sign_in(page, base, LIST)
    page.get_by_role("heading", name="Webhooks").wait_for()
    page.get_by_text("No webhook yet.").wait_for()

    # Add: a name with a tab is refused with the field kept as typed; then it is added.
    page.get_by_role("link", name="Add a webhook").click()
    page.get_by_label("Name").fill("SIEM\tfeed")
    page.get_by_label("URL").fill("https://siem.example.com/hooks")
    page.get_by_role("checkbox", name="client_created: A client was created").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("cannot contain line breaks, tabs").wait_for()
    assert page.get_by_label("URL").input_value() == "https://siem.example.com/hooks"
    assert page.get_by_role("checkbox", name="client_created: A client was created").is_checked()
    assert not Subscription.objects.exists()
    page.get_by_label("Name").fill("SIEM feed")
    page.get_by_role("button", name="Save").click()

    # The secret, once.
    page.get_by_role("heading", name="Webhook SIEM feed added").wait_for()
    secret = page.locator("#webhook-secret").input_value()
    subscription = Subscription.objects.get()
    assert secret.startswith("whsec_") and secret not in page.url
    # Stored as a digest and a short prefix only.
    stored = SubscriptionSecret.objects.get(subscription=subscription)
    assert secret.startswith(stored.prefix) and len(stored.prefix) < len(secret)
    screenshot(page, "webhooks-01-secret-once")
    page.reload()
    page.get_by_text("This secret was already shown").wait_for()
    assert secret not in page.content()

    # Its page, then back to the list, which now lists it.
    page.get_by_role("link", name="Go to the webhook").click()
    page.get_by_role("heading", name="Webhook SIEM feed").wait_for()
    page.get_by_text("No delivery yet.").wait_for()
    page.get_by_role("link", name="All webhooks").click()
    row = page.locator("tr", has=page.get_by_role("link", name="SIEM feed"))
    assert "https://siem.example.com/hooks" in row.inner_text()
    row.get_by_role("link", name="SIEM feed").click()

    # A test event: a confirmation that must be ticked, then a queued delivery on the page.
    page.get_by_role("link", name="Send test event…").click()
    page.get_by_role("heading", name="Send a test event to SIEM feed?").wait_for()
    page.get_by_role("button", name="Send a test event").click()  # not ticked: the browser refuses
    assert not Delivery.objects.exists()
    page.get_by_label("Yes, do it").check()
    page.get_by_role("button", name="Send a test event").click()
    page.get_by_text(re.compile(r"Test event \S+ queued")).wait_for()
    delivery = Delivery.objects.get()
    assert delivery.event_type == "webhook.test"
    assert delivery.message_id in page.locator("#deliveries").inner_text()
    screenshot(page, "webhooks-02-detail-with-test-event")

    # Delete: the confirmation says what is lost, and nothing goes until it is ticked.
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("heading", name="Delete the webhook SIEM feed?").wait_for()
    page.get_by_text("1 pending delivery will never be sent").wait_for()
    page.get_by_role("button", name="Delete").click()
    assert Subscription.objects.exists()
    page.get_by_label("Yes, do it").check()
    page.get_by_role("button", name="Delete").click()
    page.get_by_text("Deleted the webhook SIEM feed").wait_for()
    assert page.url == f"{base}{LIST}"
    page.get_by_text("No webhook yet.").wait_for()
    assert not Subscription.objects.exists()
    assert watch.policy_violations() == []
