"""prune_audit_log and export_audit_log."""

import csv
import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from oauth_console.audit import recorder
from oauth_console.audit.models import AuditEvent, Checkpoint, EventType

pytestmark = pytest.mark.django_db(transaction=True)


def record_at(at: datetime, **fields) -> None:
    recorder.record(fields.pop("event_type", EventType.LOGIN_FAILED), at=at, **fields)


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- retention ------------------------------------------------------------------------------------


def test_prune_deletes_old_events_in_batches_and_the_rest_still_verifies():
    now = timezone.now()
    for day in range(5):
        record_at(now - timedelta(days=400 + day), username=f"old{day}")
    for day in range(3):
        record_at(now - timedelta(days=10 + day), username=f"new{day}")
    out, err = run("prune_audit_log", "--older-than", "365d", "--batch-size", "2")
    assert "Deleted 5 audit events" in out
    assert "2 events deleted" in err and "4 events deleted" in err
    assert sorted(
        AuditEvent.objects.exclude(event_type="audit_log_pruned").values_list("username", flat=True)
    ) == [
        "new0",
        "new1",
        "new2",
    ]
    pruned = AuditEvent.objects.get(event_type=EventType.AUDIT_LOG_PRUNED)
    assert pruned.detail["deleted"] == 5 and pruned.detail["older_than"] == "365d"
    assert Checkpoint.objects.filter(kind="prune").count() == 1
    out, _ = run("verify_audit_log")
    assert "Audit log intact" in out


def test_prune_twice_keeps_one_anchor_and_verifies():
    now = timezone.now()
    for hours in (50, 40, 30, 2, 1):
        record_at(now - timedelta(hours=hours))
    run("prune_audit_log", "--older-than", "45h")
    run("prune_audit_log", "--older-than", "12h")
    assert AuditEvent.objects.exclude(event_type="audit_log_pruned").count() == 2
    assert Checkpoint.objects.filter(kind="prune").count() == 1
    assert "Audit log intact" in run("verify_audit_log")[0]


def test_insert_into_the_pruned_range_is_detected():
    now = timezone.now()
    record_at(now - timedelta(days=40))
    record_at(now - timedelta(days=1))
    old_id = AuditEvent.objects.order_by("id").first().pk
    run("prune_audit_log", "--older-than", "30d")
    survivor = AuditEvent.objects.order_by("id").first()
    survivor.pk = old_id
    survivor.save(force_insert=True)
    with pytest.raises(CommandError, match=f"Event #{old_id} was inserted"):
        run("verify_audit_log")


def test_forged_prune_record_is_detected():
    now = timezone.now()
    record_at(now - timedelta(days=40))
    record_at(now - timedelta(days=1))
    run("prune_audit_log", "--older-than", "30d")
    Checkpoint.objects.filter(kind="prune").update(event_count=0)
    with pytest.raises(CommandError, match=r"prune record .* was altered"):
        run("verify_audit_log")


def test_prune_when_every_event_is_old_deletes_them_all_and_the_log_still_verifies():
    now = timezone.now()
    for day in range(3):
        record_at(now - timedelta(days=40 + day), username=f"old{day}")
    out, _ = run("prune_audit_log", "--older-than", "30d")
    assert "Deleted 3 audit events" in out
    assert list(AuditEvent.objects.values_list("event_type", flat=True)) == [EventType.AUDIT_LOG_PRUNED]
    assert Checkpoint.objects.get(kind="prune").event_count == 3
    assert "Audit log intact" in run("verify_audit_log")[0]


def test_prune_with_nothing_old_deletes_nothing_and_still_records_itself():
    record_at(timezone.now())
    out, _ = run("prune_audit_log", "--older-than", "12h")
    assert "Deleted 0 audit events" in out
    assert AuditEvent.objects.filter(event_type=EventType.AUDIT_LOG_PRUNED).count() == 1


@pytest.mark.parametrize("value", ["365", "1y", "0d", "-3d", "12m", "abc", ""])
def test_prune_refuses_unclear_ages(value):
    record_at(timezone.now() - timedelta(days=900))
    with pytest.raises(CommandError, match="365d or 12h"):
        run("prune_audit_log", f"--older-than={value}")
    assert AuditEvent.objects.count() == 1


# --- export ---------------------------------------------------------------------------------------


@pytest.fixture
def three_days():
    base = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    record_at(base - timedelta(days=1), username="before", client_id="c1")
    record_at(base, username="inside", client_id="c1", detail={"reason": "bad secret"})
    record_at(base + timedelta(hours=5), username="=cmd|' /C calc'!A0", client_id="c2")
    record_at(base + timedelta(days=1), username="after")
    return base


def test_export_jsonl_streams_the_range_with_progress(three_days):
    out, err = run(
        "export_audit_log",
        "--since",
        "2025-03-10",
        "--until",
        "2025-03-11",
        "--format",
        "jsonl",
        "--progress-every",
        "1",
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["username"] for row in rows] == ["inside", "=cmd|' /C calc'!A0"]
    assert rows[0]["occurred_at"] == "2025-03-10T12:00:00.000000+00:00"
    assert rows[0]["detail"] == {"reason": "bad secret"}
    assert len(rows[0]["entry_hash"]) == 64
    assert "1 events exported" in err and "Exported 2 events" in err


def test_export_csv_is_spreadsheet_safe(three_days, tmp_path):
    target = tmp_path / "audit.csv"
    run(
        "export_audit_log",
        "--since",
        "2025-03-10T00:00:00Z",
        "--until",
        "2025-03-11",
        "--format",
        "csv",
        "--output",
        str(target),
    )
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [row["username"] for row in rows] == ["inside", "'=cmd|' /C calc'!A0"]
    assert json.loads(rows[0]["detail"]) == {"reason": "bad secret"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "Unknown --format 'xml': use jsonl or csv"),
        (["--since", "2025-03-12", "--until", "2025-03-10"], "must be before --until"),
        (["--since", "2025-03-10", "--until", "2025-03-10"], "must be before --until"),
        (["--since", "yesterday"], "--since 'yesterday' is not a date"),
        (["--until", "2025-13-45"], "--until '2025-13-45' is not a date"),
    ],
)
def test_export_refuses_bad_input_with_a_clear_message(three_days, args, message):
    with pytest.raises(CommandError) as failure:
        run("export_audit_log", *args)
    assert message in str(failure.value)
