"""The "client authentications per day" chart counts every successful authentication.

The token endpoint records one `token_issued` event per token, with the client's authentication
folded into it (`detail.client_auth_method`) instead of a separate `client_authenticated` event:
the chart must count those too, today and on the stored days.
"""

import importlib
import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.test import Client as HttpClient
from django.test import override_settings
from django.utils import timezone

from oauth_console.dashboard import audit_stats
from oauth_console.dashboard.models import DayTotal
from server import selectors
from tests.server.helpers import basic_auth, form

DASHBOARD = "/console/"


def charts_of(response) -> dict:
    page = response.content.decode()
    return json.loads(page.split('id="dashboard-data" type="application/json">')[1].split("</script>")[0])


def audit_event(event_type: str, outcome: str = "success", ago=timedelta(0), **detail):
    from oauth_console.audit.models import AuditEvent

    return AuditEvent.objects.create(
        event_type=event_type,
        outcome=outcome,
        occurred_at=timezone.now() - ago,
        detail=detail,
        entry_hash="0" * 64,
    )


@pytest.mark.django_db(transaction=True)
def test_tokens_issued_through_the_token_endpoint_count_as_successful_authentications(
    make_client, operator, settings
):
    settings.CONSOLE_DASHBOARD_CACHE_SECONDS = 0
    machine, secret = make_client("Machine")
    http = HttpClient(REMOTE_ADDR="203.0.113.9")
    for _ in range(7):
        response = form(
            http,
            "/oauth/token",
            {"grant_type": "client_credentials", "scope": "read"},
            HTTP_AUTHORIZATION=basic_auth(machine.client_id, secret),
            secure=True,
        )
        assert response.status_code == 200, response.content
    refused = form(
        http,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(machine.client_id, "ocs_wrong-secret"),
        secure=True,
    )
    assert refused.status_code == 401

    ops = HttpClient()
    ops.force_login(operator)
    auth = charts_of(ops.get(DASHBOARD))["auth"]

    assert auth["success"][-1] == 7
    assert auth["failure"][-1] == 1


@pytest.mark.django_db
def test_the_selector_counts_authentications_wherever_they_were_recorded():
    audit_event("token_issued", client_auth_method="client_secret_basic")
    audit_event("token_issued", client_auth_method="none")
    audit_event("token_issued", ago=timedelta(days=3), client_auth_method="client_secret_post")
    audit_event("token_issued", grant_type="authorization_code")  # no client authentication in it
    audit_event("client_authenticated", method="client_secret_basic")  # introspection, say
    audit_event("client_authentication_failed", "failure", method="client_secret_basic")
    audit_event("token_authenticated")  # a bearer token, not a client

    days = selectors.days_back(30)
    counted = audit_stats.client_authentications_per_day(days[0], days[-1])

    assert counted[days[-1]] == {"success": 3, "failure": 1}
    assert counted[days[-4]] == {"success": 1, "failure": 0}


@pytest.mark.django_db
@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_stored_days_are_recounted_rather_than_shown_as_the_old_series_stored_them(ops):
    three_days_ago = selectors.days_back(30)[-4]
    audit_event("token_issued", ago=timedelta(days=3), client_auth_method="client_secret_basic")
    # What the old chart stored for that day: the absorbed authentication missed.
    DayTotal.objects.create(
        series="auth",
        time_zone=timezone.get_current_timezone_name(),
        day=three_days_ago,
        value={"success": 0, "failure": 0},
        counted_until=timezone.now(),
    )

    auth = charts_of(ops.get(DASHBOARD))["auth"]

    assert auth["success"][-4] == 1
    stored = DayTotal.objects.get(series=audit_stats.AUTH_SERIES, day=three_days_ago)
    assert stored.value == {"success": 1, "failure": 0}


@pytest.mark.django_db
def test_the_data_migration_drops_the_days_the_old_series_stored():
    migration = importlib.import_module(
        "oauth_console.dashboard.migrations.0002_recount_client_authentications"
    )
    for series in ("auth", "issued"):
        DayTotal.objects.create(
            series=series, time_zone="UTC", day=timezone.localdate(), value=0, counted_until=timezone.now()
        )

    migration.drop_stale_client_authentication_days(apps, None)

    assert list(DayTotal.objects.values_list("series", flat=True)) == ["issued"]


@pytest.mark.django_db
def test_top_clients_without_active_tokens_shows_an_empty_state_not_an_empty_chart(ops):
    page = ops.get(DASHBOARD).content.decode()

    assert 'id="chart-top-clients"' not in page
    assert 'id="top-clients-empty"' in page
    assert "No client has an active token" in page
