"""The operators' dashboard: counts and charts from a few aggregate queries (server.selectors)."""

from datetime import datetime

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from oauth_console.dashboard import access, active_counts, audit_stats, history
from server import selectors
from server.models import Client

DAYS = 30
CHARTS_CACHE_KEY = "console:dashboard:charts:v1"
TOP_CLIENTS_CACHE_KEY = "console:dashboard:top-clients:v1"


def revocation_series() -> tuple[str, object]:
    """The revocation chart's series name and range query: from the audit log's revocation
    events (an index range scan); without the audit app, from the token table, which is read
    whole (slow at scale). The source is part of the name: a day counted one way is not reused
    by the other."""
    if audit_stats.audit_available():
        return "revoked-audit", audit_stats.revocations_per_day
    return "revoked-tokens", selectors.revocations_per_day


def chart_data(now) -> dict:
    """The per-day series the charts draw, as JSON-ready lists: the stored days of every chart
    in one query, then one query per chart for what is not stored yet (normally the part of
    today since its last full hour), and at most one write."""
    days = selectors.days_back(DAYS, now)
    revoked_name, revoked_compute = revocation_series()
    with_audit = audit_stats.audit_available()
    book = history.DayHistory(
        ["issued", revoked_name, *([audit_stats.AUTH_SERIES] if with_audit else [])], days, now
    )
    # grant type -> {date: tokens issued}
    issued_by_day = book.series("issued", selectors.tokens_issued_per_day, dict)
    grants = sorted({grant for counts in issued_by_day.values() for grant in counts})
    issued = {grant: {day: issued_by_day[day].get(grant, 0) for day in days} for grant in grants}
    revoked = book.series(revoked_name, revoked_compute, int)
    # {date: {"success": n, "failure": n}}, or None without an audit log
    auth = (
        book.series(
            audit_stats.AUTH_SERIES,
            audit_stats.client_authentications_per_day,
            lambda: {"success": 0, "failure": 0},
        )
        if with_audit
        else None
    )
    book.save()
    return {
        "days": [day.isoformat() for day in days],
        "issued": [
            {"label": grant, "data": [per_day[day] for day in days]} for grant, per_day in issued.items()
        ],
        "auth": None
        if auth is None
        else {
            "success": [auth[day]["success"] for day in days],
            "failure": [auth[day]["failure"] for day in days],
        },
        "revocations": [revoked[day] for day in days],
    }


def cached_chart_data(now) -> tuple[dict, bool]:
    """chart_data, cached for CONSOLE_DASHBOARD_CACHE_SECONDS: thirty days of a million tokens
    do not change much in a minute, and several operators may watch the page. Also says whether
    this call computed it (queried the database) rather than found it cached."""
    seconds = settings.CONSOLE_DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return chart_data(now), True
    data = cache.get(CHARTS_CACHE_KEY)
    if data is not None:
        return data, False
    data = chart_data(now)
    cache.set(CHARTS_CACHE_KEY, data, seconds)
    return data, True


def top_clients(
    now: datetime, active_by_client: dict[int, int] | None, *, charts_computed: bool = False
) -> tuple[list[dict], datetime | None]:
    """The ten clients with the most active tokens, and when they were counted (None: just now).

    From `active_by_client` when the dashboard counted active tokens exactly (one more query,
    for the names). When there were too many to count on each view, from the last count
    (`active_counts`: kept in the cache and the database, recounted at most once per
    CONSOLE_DASHBOARD_CACHE_SECONDS) and the page says as of when; a view that has just
    computed the charts shows the previous count once more rather than pay for both at once.
    """

    def rows(counts: dict[int, int] | None) -> list[dict]:
        return [
            {"name": client.name, "client_id": client.client_id, "active_tokens": client.active_tokens}
            for client in selectors.top_clients_by_active_tokens(10, now, counts)
        ]

    if active_by_client is not None:
        return rows(active_by_client), None
    seconds = settings.CONSOLE_DASHBOARD_CACHE_SECONDS
    # The ten rows with their names, for as long as the count they come from is current.
    shown = cache.get(TOP_CLIENTS_CACHE_KEY) if seconds > 0 else None
    if shown is None or active_counts.is_due(shown["as_of"], now):
        snapshot = active_counts.current(now, may_count=not charts_computed)
        if shown is None or shown["as_of"] != snapshot.as_of:
            shown = {"rows": rows(snapshot.counts), "as_of": snapshot.as_of}
            if seconds > 0:
                cache.set(TOP_CLIENTS_CACHE_KEY, shown, 2 * seconds)
    return shown["rows"], shown["as_of"]


def _dashboard(request: HttpRequest) -> HttpResponse:
    if not access.may_open_dashboard(request.user):
        raise PermissionDenied
    now = timezone.now()
    by_status = selectors.client_counts_by_status()
    chart_series, charts_computed = cached_chart_data(now)
    # Exact below CONSOLE_EXACT_COUNT_LIMIT active tokens (the limit the token list counts to);
    # above it the planner's estimate, labelled so on the page. Tokens issued today: the last
    # day of the chart (as fresh as the charts: at most CONSOLE_DASHBOARD_CACHE_SECONDS old),
    # not a count of every token since midnight on every view.
    tokens = selectors.token_counts(
        now,
        exact_limit=settings.CONSOLE_EXACT_COUNT_LIMIT,
        issued_today=sum(series["data"][-1] for series in chart_series["issued"]),
    )
    top, top_as_of = top_clients(now, tokens.active_by_client, charts_computed=charts_computed)
    charts = {**chart_series, "top_clients": top}
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "console_section": "dashboard",
        "client_counts": [(label, by_status[value], value) for value, label in Client.Status.choices],
        "clients_total": sum(by_status.values()),
        "active_tokens": tokens.active,
        "active_tokens_estimated": tokens.active_is_estimate,
        "exact_count_limit": settings.CONSOLE_EXACT_COUNT_LIMIT,
        "issued_today": tokens.issued_today,
        "failed_auth_today": audit_stats.failed_client_authentications_today(now),
        "audit_available": audit_stats.audit_available(),
        "charts": charts,
        "top_clients_as_of": top_as_of,
        "counted_every_seconds": settings.CONSOLE_DASHBOARD_CACHE_SECONDS,
    }
    return TemplateResponse(request, "console/dashboard/home.html", context)


# The admin's wrapper: staff only (others go to the admin login), never cached, CSRF as usual.
dashboard = admin.site.admin_view(_dashboard)
