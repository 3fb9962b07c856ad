"""A security reviewer in Chromium: filter failed client authentications, open one, export the list.

Real failed authentications are made against the live server's token endpoint; the reviewer (a
staff member of the `security` group only) signs in to the admin, narrows the audit log to one
client's failed authentications over a date range, opens an event, exports the filtered list as
CSV, and is refused the client's change form.
"""

import csv
import io
from datetime import timedelta

import pytest
import requests
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from oauth_console.audit import recorder
from oauth_console.audit.models import AuditEvent
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

SEC_PASSWORD = "sec-password-123"


@pytest.fixture
def plain_http(settings, monkeypatch):
    """The live server speaks plain HTTP; let the protocol endpoints accept it for this test."""
    settings.OAUTH2_REQUIRE_HTTPS = False
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def security_reviewer(django_user_model):
    # Transactional tests flush the data migration's group; make it as the migration does.
    group, _ = Group.objects.get_or_create(name="security")
    group.permissions.set(
        [Permission.objects.get(codename="view_auditevent", content_type__app_label="audit")]
    )
    user = django_user_model.objects.create_user("sec", "sec@example.com", SEC_PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


def fail_token_request(base: str, client_id: str) -> None:
    response = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, "ocs_not-the-secret"),
        headers={"User-Agent": "credential-stuffer/0.1"},
        timeout=10,
    )
    assert response.status_code == 401


def test_security_reviewer_filters_opens_and_exports_failed_client_authentications(
    live_server, page, plain_http, make_client, security_reviewer
):
    base = live_server.url
    billing, _ = make_client("Billing")
    other, _ = make_client("Other")
    for _ in range(2):
        fail_token_request(base, billing.client_id)
    fail_token_request(base, other.client_id)
    # One from long ago, outside the range the reviewer picks.
    recorder.record(
        "client_authentication_failed",
        outcome="failure",
        client_id=billing.client_id,
        at=timezone.now() - timedelta(days=30),
        detail={"method": "client_secret_basic", "reason": "old failure"},
    )
    expected = set(
        AuditEvent.objects.filter(
            event_type="client_authentication_failed",
            client_id=billing.client_id,
            occurred_at__gte=timezone.now() - timedelta(days=1),
        ).values_list("pk", flat=True)
    )
    assert len(expected) == 2

    # --- sign in to the admin ----------------------------------------------------------------
    page.goto(f"{base}/admin/login/?next=/admin/audit/auditevent/")
    page.locator("#id_username").fill("sec")
    page.locator("#id_password").fill(SEC_PASSWORD)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_url("**/admin/audit/auditevent/**")

    # --- filter: type, client, date range ----------------------------------------------------
    page.locator("#changelist-filter").get_by_role("link", name="Client authentication failed").click()
    page.wait_for_url("**event_type__exact=client_authentication_failed**")
    page.get_by_label("client_id client_id").fill(billing.client_id)
    page.get_by_label("client_id client_id").press("Enter")
    page.wait_for_url(f"**client_id={billing.client_id}**")
    today = timezone.now().date()
    page.get_by_label("date range (UTC) From").fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("date range (UTC) To").fill(today.isoformat())
    page.locator("form.audit-input-filter:has(input[name=since]) input[type=submit]").click()
    page.wait_for_url("**since=**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "old failure" not in page.content()
    screenshot(page, "security-audit-filtered")

    # --- open one ------------------------------------------------------------------------------
    rows.first.locator("th a").first.click()
    page.wait_for_url("**/change/**")
    detail = page.locator("pre.audit-detail").inner_text()
    assert '"method": "client_secret_basic"' in detail
    assert '"reason":' in detail
    assert billing.client_id in page.content()
    assert page.locator("input[name=_save]").count() == 0
    screenshot(page, "security-audit-detail")

    # --- export the filtered list ------------------------------------------------------------------
    page.go_back()
    page.wait_for_url("**since=**")
    page.get_by_role("link", name="Export", exact=True).click()
    page.wait_for_url("**/export/**")
    page.locator("select[name=format]").select_option(label="csv")
    screenshot(page, "security-audit-export")
    with page.expect_download() as download_info:
        page.locator("input[type=submit], button[type=submit]").last.click()
    download = download_info.value
    with open(download.path(), encoding="utf-8") as file:
        exported = list(csv.DictReader(io.StringIO(file.read())))
    assert {int(row["id"]) for row in exported} == expected
    assert {row["client_id"] for row in exported} == {billing.client_id}

    # --- but not the client itself ------------------------------------------------------------------
    response = page.goto(f"{base}/admin/server/client/{billing.pk}/change/")
    assert response is not None and response.status == 403
    screenshot(page, "security-audit-client-refused")
