"""The operators' dashboard and the selectors behind it."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from server import selectors, services
from server.actors import Actor
from server.models import Client, Token

pytestmark = pytest.mark.django_db

DASHBOARD = "/console/"


def audit_event(event_type: str, outcome: str, ago=timedelta(0)):
    from oauth_console.audit.models import AuditEvent

    return AuditEvent.objects.create(
        event_type=event_type, outcome=outcome, occurred_at=timezone.now() - ago, entry_hash="0" * 64
    )


def revoke(token, capture_on_commit) -> None:
    """Revoke through the one write path, so the audit log records it (the chart reads the log)."""
    with capture_on_commit(execute=True):
        # revoke_tokens, not revoke_single_token: the latter is the RFC 7009 endpoint's, whose
        # event is the spec's token_revoked sent by the endpoint (issue 12).
        services.revoke_tokens(Token.objects.filter(pk=token.pk), actor=Actor.system("test"), reason="test")


@pytest.fixture
def populated(make_client, make_token, end_user, django_capture_on_commit_callbacks):
    busy, _ = make_client("Busy")
    quiet, _ = make_client("Quiet")
    make_client("Waiting", status=Client.Status.PENDING)
    make_client("Off", status=Client.Status.DISABLED)
    for _ in range(3):
        make_token(busy, end_user, grant_type="authorization_code")
    make_token(busy, grant_type="client_credentials")
    make_token(quiet, grant_type="client_credentials")
    make_token(quiet, grant_type="client_credentials", issued_ago=timedelta(days=2))  # expired
    make_token(quiet, grant_type="client_credentials", issued_ago=timedelta(days=40))  # outside 30 days
    revoke(make_token(busy, grant_type="refresh_token")[0], django_capture_on_commit_callbacks)
    audit_event("client_authentication_failed", "failure")
    audit_event("client_authentication_failed", "failure")
    audit_event("client_authentication_failed", "failure", ago=timedelta(days=3))
    audit_event("client_authenticated", "success")
    return busy, quiet


def test_dashboard_counts(ops, populated, django_assert_max_num_queries):
    # 14 on SQLite (the first view also reads and stores the day history); on PostgreSQL one
    # more: the planner's estimate of the active tokens.
    with django_assert_max_num_queries(15):
        response = ops.get(DASHBOARD)

    assert response.status_code == 200
    context = response.context
    assert context["active_tokens"] == 5
    assert context["issued_today"] == 6  # the revoked one was issued today too
    assert context["failed_auth_today"] == 2
    assert dict((value, count) for _label, count, value in context["client_counts"]) == {
        "active": 2,
        "pending": 1,
        "disabled": 1,
        "rejected": 0,
    }
    page = response.content.decode()
    assert 'id="count-active-tokens">5<' in page
    assert "vendor/chartjs/chart.umd.min.js" in page
    assert "cdn" not in page.lower()


def test_dashboard_chart_data(ops, populated):
    busy, quiet = populated
    response = ops.get(DASHBOARD)
    page = response.content.decode()
    data = json.loads(page.split('id="dashboard-data" type="application/json">')[1].split("</script>")[0])
    today = timezone.localdate().isoformat()
    assert len(data["days"]) == 30 and data["days"][-1] == today
    issued = {series["label"]: series["data"] for series in data["issued"]}
    assert issued["authorization_code"][-1] == 3
    assert issued["client_credentials"][-1] == 2
    assert issued["client_credentials"][-3] == 1
    assert sum(issued["client_credentials"]) == 3  # the 40-day-old one is left out
    assert data["auth"]["failure"][-1] == 2 and data["auth"]["failure"][-4] == 1
    assert data["auth"]["success"][-1] == 1
    assert data["revocations"][-1] == 1
    assert [row["client_id"] for row in data["top_clients"]] == [busy.client_id, quiet.client_id]
    assert [row["active_tokens"] for row in data["top_clients"]] == [4, 1]


def test_dashboard_query_count_does_not_grow_with_clients(
    ops, make_client, make_token, django_assert_max_num_queries
):
    for index in range(15):
        client, _ = make_client(f"App {index}")
        make_token(client)
    # 14 on SQLite; on PostgreSQL one more: the planner's estimate of the active tokens.
    with django_assert_max_num_queries(15):
        assert ops.get(DASHBOARD).status_code == 200


def charts_of(response) -> dict:
    page = response.content.decode()
    return json.loads(page.split('id="dashboard-data" type="application/json">')[1].split("</script>")[0])


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_a_cold_render_reads_the_stored_history_and_shows_the_same_numbers(
    ops, populated, monkeypatch, django_assert_num_queries
):
    from django.core.cache import cache

    frozen = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    first = charts_of(ops.get(DASHBOARD))  # counts the thirty days and stores the finished ones
    cache.clear()
    ops.get(DASHBOARD)  # may store today up to its last full hour (after 01:05)
    cache.clear()

    # session, user, 2 x permissions, clients by status, (on PostgreSQL, the planner's
    # estimate of the active tokens,) active by client, the top clients' names, the stored days
    # of the three charts (one query), each chart's count of today since its last full hour,
    # failed authentications today: no count over past days. Issued today is the issued
    # chart's last day, not a query of its own.
    with django_assert_num_queries(12 + (connection.vendor == "postgresql")) as queries:
        cold = charts_of(ops.get(DASHBOARD))
    sqls = [query["sql"] for query in queries.captured_queries]  # the next request clears the log
    with override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=0):
        live = charts_of(ops.get(DASHBOARD))  # every day counted again, nothing stored or cached

    assert cold == first == live
    assert cold["revocations"][-1] == 1 and cold["auth"]["failure"][-4] == 1
    issued = {series["label"]: series["data"] for series in cold["issued"]}
    assert issued["client_credentials"][-3] == 1 and issued["authorization_code"][-1] == 3
    # Only the stored days are read from the thirty days' start; no count reaches back there.
    month_ago = selectors.days_back(30, frozen)[0].isoformat()
    reaching_back = [sql for sql in sqls if month_ago in sql]
    assert len(reaching_back) == 1 and "dashboard_daytotal" in reaching_back[0]


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_charts_are_cached_but_counts_are_live(ops, make_client, make_token):
    client, _ = make_client()
    make_token(client, grant_type="authorization_code")
    ops.get(DASHBOARD)
    make_token(client, grant_type="authorization_code")
    response = ops.get(DASHBOARD)
    assert response.context["active_tokens"] == 2
    assert response.context["charts"]["top_clients"][0]["active_tokens"] == 2
    issued = {series["label"]: series["data"] for series in response.context["charts"]["issued"]}
    assert issued["authorization_code"][-1] == 1  # from the cache


def test_dashboard_is_for_staff_with_view_permission(client, end_user, staff_without_permissions, readonly):
    assert client.get(DASHBOARD).status_code == 302
    assert "/admin/login/" in client.get(DASHBOARD)["Location"]
    client.force_login(end_user)
    assert client.get(DASHBOARD).status_code == 302
    client.force_login(staff_without_permissions)
    assert client.get(DASHBOARD).status_code == 403
    assert readonly.get(DASHBOARD).status_code == 200


def test_admin_index_links_to_the_dashboard(ops):
    page = ops.get(reverse("admin:index")).content.decode()
    assert 'href="/console/"' in page


def test_dashboard_without_audit_log(ops, populated, monkeypatch):
    from oauth_console.dashboard import audit_stats

    monkeypatch.setattr(audit_stats, "_audit_selectors", lambda: None)
    response = ops.get(DASHBOARD)
    assert response.status_code == 200
    assert response.context["failed_auth_today"] is None
    assert response.context["charts"]["auth"] is None
    assert "audit log not installed" in response.content.decode()


# --- selectors -----------------------------------------------------------------------------------


def test_client_token_stats_counts_active_tokens_and_last_use(
    make_client, make_token, django_assert_num_queries
):
    busy, _ = make_client("Busy")
    idle, _ = make_client("Idle")
    make_token(busy)
    make_token(busy, issued_ago=timedelta(minutes=5))
    make_token(busy, revoked=True)
    with django_assert_num_queries(3):
        stats = selectors.client_token_stats([busy.pk, idle.pk])
    assert stats[busy.pk].active_tokens == 2
    assert stats[idle.pk] == selectors.ClientTokenStats(0, None)


def test_token_status_querysets(make_client, make_token):
    client, _ = make_client()
    active, _ = make_token(client)
    expired, _ = make_token(client, issued_ago=timedelta(hours=2))
    revoked, _ = make_token(client, revoked=True)
    assert list(selectors.tokens_with_status("active")) == [active]
    assert list(selectors.tokens_with_status("expired")) == [expired]
    assert list(selectors.tokens_with_status("revoked")) == [revoked]
    with pytest.raises(ValueError):
        selectors.tokens_with_status("sleepy")


@override_settings(CONSOLE_DASHBOARD_CACHE_SECONDS=60)
def test_days_before_today_are_computed_once_a_day_and_today_live(
    ops, make_client, make_token, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from oauth_console.dashboard.views import CHARTS_CACHE_KEY

    client, _ = make_client()
    make_token(client, grant_type="client_credentials", issued_ago=timedelta(days=2))
    ops.get(DASHBOARD)
    make_token(client, grant_type="client_credentials")
    make_token(client, grant_type="client_credentials", issued_ago=timedelta(days=2))
    revoke(make_token(client, grant_type="client_credentials")[0], django_capture_on_commit_callbacks)
    cache.delete(CHARTS_CACHE_KEY)  # the one-minute bundle expires; the day history does not

    charts = ops.get(DASHBOARD).context["charts"]

    issued = {series["label"]: series["data"] for series in charts["issued"]}["client_credentials"]
    assert issued[-1] == 2  # today's, read live
    assert issued[-3] == 1  # two days ago, from this morning's history
    assert charts["revocations"][-1] == 1
