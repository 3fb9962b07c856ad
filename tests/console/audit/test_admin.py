"""The audit log in the admin: the security group reads, filters, opens and exports; nobody writes."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from django.contrib.auth.models import Group
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse

from oauth_console.audit import admin as audit_admin
from oauth_console.audit import recorder
from oauth_console.audit.export import COLUMNS
from oauth_console.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:audit_auditevent_changelist")
EXPORT = reverse("admin:audit_auditevent_export")
DAY = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def add(event_type: str, *, at: datetime = DAY, ip: str | None = None, **fields) -> AuditEvent:
    """Store one event now (the recorder's own INSERT), as if from a request from `ip`."""
    request = RequestFactory().get("/", REMOTE_ADDR=ip) if ip else None
    event = recorder.build_event(event_type, at=at, request=request, **fields)
    recorder.insert([event])
    return event


@pytest.fixture
def log(make_client, end_user):
    billing, _ = make_client("Billing")
    other, _ = make_client("Other")
    AuditEvent.objects.all().delete()  # start from the events below only
    return {
        "failed_old": add(
            "client_authentication_failed",
            outcome="failure",
            client_id=billing.client_id,
            at=DAY - timedelta(days=5),
            detail={"reason": "bad secret"},
            ip="203.0.113.1",
        ),
        "failed_in_range": add(
            "client_authentication_failed",
            outcome="failure",
            client_id=billing.client_id,
            at=DAY,
            detail={"method": "client_secret_basic", "reason": "bad secret"},
            ip="203.0.113.2",
        ),
        "failed_other": add(
            "client_authentication_failed",
            outcome="failure",
            client_id=other.client_id,
            at=DAY,
            ip="203.0.113.3",
        ),
        "issued": add(
            "token_issued",
            client_id=billing.client_id,
            at=DAY + timedelta(hours=1),
            user_id=end_user.pk,
            username="alice",
            token_id=77,
            token_prefix="oat_abcdefgh",
            ip="198.51.100.4",
        ),
        "billing": billing,
        "other": other,
    }


@pytest.fixture
def sec(security_user) -> HttpClient:
    http = HttpClient()
    http.force_login(security_user)
    return http


@pytest.fixture
def root(operator) -> HttpClient:
    http = HttpClient()
    http.force_login(operator)
    return http


def listed(http, query: str = "") -> list[int]:
    response = http.get(CHANGELIST + query)
    assert response.status_code == 200, response.status_code
    return [event.pk for event in response.context["cl"].result_list]


# --- who may see what --------------------------------------------------------------------------------


def test_the_migration_gives_the_security_group_view_on_audit_events_only():
    group = Group.objects.get(name="security")
    assert [f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()] == [
        "audit.view_auditevent"
    ]


def test_security_user_reads_the_log_but_cannot_open_the_client_change_form(sec, log):
    assert sec.get(CHANGELIST).status_code == 200
    client_page = sec.get(reverse("admin:server_client_change", args=[log["billing"].pk]))
    assert client_page.status_code == 403


def test_staff_without_the_permission_sees_nothing_and_exports_nothing(django_user_model, log):
    staff = django_user_model.objects.create_user("sam", "sam@example.com", "sam-pw-123456", is_staff=True)
    http = HttpClient()
    http.force_login(staff)
    assert http.get(CHANGELIST).status_code == 403
    assert http.get(EXPORT).status_code == 403
    assert http.post(EXPORT, {"format": "0"}).status_code == 403


@pytest.mark.parametrize("who", ["sec", "root"])
def test_nobody_adds_changes_or_deletes_events(request, who, log):
    http = request.getfixturevalue(who)
    event = log["issued"]
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    assert http.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert http.post(change, {"username": "mallory"}).status_code == 403
    assert (
        http.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    response = http.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [event.pk], "index": 0}
    )
    assert response.status_code == 302  # the action does not exist: back to the list, nothing done
    assert AuditEvent.objects.filter(pk=event.pk, username="alice").exists()
    assert AuditEvent.objects.count() == 4


# --- the list: filters and search ------------------------------------------------------------------------


def test_filters_by_type_outcome_client_user_ip_and_date_range(sec, log):
    billing = log["billing"].client_id
    assert listed(sec, "?event_type__exact=token_issued") == [log["issued"].pk]
    assert set(listed(sec, "?outcome__exact=failure")) == {
        log["failed_old"].pk,
        log["failed_in_range"].pk,
        log["failed_other"].pk,
    }
    assert set(listed(sec, f"?client_id={billing}")) == {
        log["failed_old"].pk,
        log["failed_in_range"].pk,
        log["issued"].pk,
    }
    assert listed(sec, "?username=alice") == [log["issued"].pk]
    assert listed(sec, "?ip=203.0.113.2") == [log["failed_in_range"].pk]
    # Failed authentications of one client over a date range: the reviewer's everyday question.
    query = (
        f"?event_type__exact=client_authentication_failed&client_id={billing}"
        "&since=2025-03-09&until=2025-03-10"
    )
    assert listed(sec, query) == [log["failed_in_range"].pk]


def test_search_matches_client_id_username_or_ip_exactly(sec, log):
    assert listed(sec, "?q=alice") == [log["issued"].pk]
    assert listed(sec, "?q=203.0.113.3") == [log["failed_other"].pk]
    assert len(listed(sec, f"?q={log['other'].client_id}")) == 1
    assert listed(sec, "?q=ali") == []
    assert listed(sec, "?q=not-an-ip' OR 1=1") == []


@pytest.mark.parametrize(
    "query", ["?ip=999.1.1.1", "?since=yesterday", "?until=2025-02-30", "?since=2025-03-11&until=2025-03-10"]
)
def test_bad_filter_values_are_refused_with_a_message_not_a_500(sec, log, query):
    response = sec.get(CHANGELIST + query, follow=True)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages, "the reviewer is told what was wrong"


def test_list_never_counts_the_whole_table(sec, log, django_assert_max_num_queries, monkeypatch):
    monkeypatch.setattr(audit_admin, "COUNT_CAP", 2)
    # The capped count (PostgreSQL's estimate of a never-analysed test table could skip it).
    monkeypatch.setattr("server.selectors.planner_row_estimate", lambda queryset: None)
    monkeypatch.setattr("server.selectors.estimated_row_count", lambda queryset: None)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = sec.get(CHANGELIST)
    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)
    assert "More than 2 audit events" in response.content.decode()
    assert len(queries.captured_queries) <= 8


def test_list_is_ordered_newest_first_on_the_index(sec, log):
    assert listed(sec)[0] == log["issued"].pk
    assert AuditEvent._meta.ordering == ["-occurred_at", "-id"]
    assert any(index.fields == ["-occurred_at", "-id"] for index in AuditEvent._meta.indexes)


# --- the detail page ------------------------------------------------------------------------------------


def test_detail_page_pretty_prints_the_json_and_links_client_user_and_token(sec, root, log, end_user):
    event = log["issued"]
    # The links are for those who may open them (the security group may not: test_dead_ends.py).
    page = root.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("admin:server_client_change", args=[log["billing"].pk]) in html
    assert reverse("admin:auth_user_change", args=[end_user.pk]) in html
    assert reverse("admin:server_token_change", args=[77]) in html
    detail = sec.get(
        reverse("admin:audit_auditevent_change", args=[log["failed_in_range"].pk])
    ).content.decode()
    pretty = "{\n  &quot;method&quot;: &quot;client_secret_basic&quot;,\n  &quot;reason&quot;"
    assert 'class="audit-detail"' in detail and pretty in detail
    assert 'name="_save"' not in detail


def test_detail_page_of_a_deleted_client_says_so(sec, log):
    event = log["failed_other"]
    client_id = log["other"].client_id
    log["other"].delete()
    html = sec.get(reverse("admin:audit_auditevent_change", args=[event.pk])).content.decode()
    assert f"{client_id} (no longer exists)" in html


# --- export ----------------------------------------------------------------------------------------------


def export(http, query: str, fmt: int):
    data = {"format": str(fmt), "resource": "0"}
    data.update({f"auditeventresource_{column}": "on" for column in COLUMNS})
    return http.post(EXPORT + query, data)


FILTER = "?event_type__exact=client_authentication_failed&since=2025-03-10&until=2025-03-10"


def test_export_csv_of_the_filtered_events(sec, log):
    response = export(sec, FILTER + f"&client_id={log['billing'].client_id}", 0)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [int(row["id"]) for row in rows] == [log["failed_in_range"].pk]
    assert json.loads(rows[0]["detail"])["reason"] == "bad secret"
    assert rows[0]["occurred_at"] == "2025-03-10T12:00:00.000000+00:00"


def test_export_json_of_the_filtered_events(sec, log):
    response = export(sec, FILTER, 1)
    assert response.status_code == 200
    rows = json.loads(response.content)
    assert {row["id"] for row in rows} == {log["failed_in_range"].pk, log["failed_other"].pk}


def test_export_xlsx_is_spreadsheet_safe(sec, log):
    add("login_failed", username='=HYPERLINK("http://evil")', at=DAY)
    response = export(sec, "?event_type__exact=login_failed", 2)
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    values = [cell.value for cell in sheet[2]]
    assert values[header.index("username")] == '\'=HYPERLINK("http://evil")'


def test_export_action_offers_the_selected_events(sec, log):
    response = sec.post(
        CHANGELIST,
        {"action": "export_admin_action", "_selected_action": [log["issued"].pk], "index": 0},
    )
    assert response.status_code == 200
    assert b'name="format"' in response.content


def test_export_refuses_too_big_a_selection_with_a_message(sec, log, monkeypatch):
    monkeypatch.setattr(audit_admin, "EXPORT_LIMIT", 2)
    response = export(sec, "", 0)
    assert response.status_code == 200
    assert "export_audit_log" in response.content.decode()


def test_a_log_the_planner_expects_to_be_far_bigger_than_the_cap_is_not_counted(sec, log, monkeypatch):
    # Thirty million events: the planner's estimate instead of counting 10,001 of them.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(audit_admin, "COUNT_CAP", 1)
    monkeypatch.setattr(audit_admin.AuditEventAdmin, "list_per_page", 1)
    # Unfiltered: the catalog's row count (no plan over every partition).
    monkeypatch.setattr("server.selectors.estimated_row_count", lambda queryset: 30_000_000)
    with CaptureQueriesContext(connection) as queries:
        response = sec.get(CHANGELIST)
    assert response.status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert "About 30000000 audit events" in response.content.decode()
