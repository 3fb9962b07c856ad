"""Client-authentication counts from the audit log, if the audit app is installed.

The audit log belongs to `oauth_console.audit`; the dashboard only reads it, and works (with
the numbers left out) where that app is not installed.
"""

from datetime import datetime, timedelta

from django.apps import apps
from django.db.models import Count
from django.db.models.functions import TruncDate

from server.selectors import days_back, start_of_day

SUCCESS = "client_authenticated"
FAILURE = "client_authentication_failed"


def _audit_event_model():
    if not apps.is_installed("oauth_console.audit"):
        return None
    try:
        return apps.get_model("audit", "AuditEvent")
    except LookupError:
        return None


def audit_available() -> bool:
    """True when client-authentication events can be read."""
    return _audit_event_model() is not None


def failed_client_authentications_today(now: datetime | None = None) -> int | None:
    """Failed client authentications since midnight, or None without an audit log."""
    model = _audit_event_model()
    if model is None:
        return None
    return model.objects.filter(
        event_type=FAILURE, outcome="failure", occurred_at__gte=start_of_day(now)
    ).count()


def client_authentications_per_day(days: int = 30, now: datetime | None = None) -> dict | None:
    """{"success": {date: n}, "failure": {date: n}} for the last `days` days, or None."""
    model = _audit_event_model()
    if model is None:
        return None
    since = start_of_day(now) - timedelta(days=days - 1)
    rows = (
        model.objects.filter(event_type__in=[SUCCESS, FAILURE], occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .values("day", "event_type")
        .annotate(n=Count("pk"))
        .order_by()
    )
    dates = days_back(days, now)
    series = {"success": dict.fromkeys(dates, 0), "failure": dict.fromkeys(dates, 0)}
    for row in rows:
        key = "failure" if row["event_type"] == FAILURE else "success"
        if row["day"] in series[key]:
            series[key][row["day"]] = row["n"]
    return series
