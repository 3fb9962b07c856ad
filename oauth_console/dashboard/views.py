"""The operators' dashboard: counts and charts from a few aggregate queries (server.selectors)."""

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from oauth_console.dashboard import audit_stats
from server import selectors
from server.models import Client

DAYS = 30
CHARTS_CACHE_KEY = "console:dashboard:charts:v1"
VIEW_PERMISSIONS = ("server.view_client", "server.view_token", "server.manage_clients")


def _before_today(name: str, now, compute):
    """A series for the days before today: they no longer change, so they are computed once a
    day (the expensive part: a month of tokens) and only today's numbers are read live."""
    if settings.CONSOLE_DASHBOARD_CACHE_SECONDS <= 0:
        return compute()
    key = f"{CHARTS_CACHE_KEY}:{name}:{timezone.localdate(now).isoformat()}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, 25 * 3600)
    return value


def chart_data(now) -> dict:
    """The per-day series the charts draw, as JSON-ready lists."""
    days = selectors.days_back(DAYS, now)
    today, midnight = days[-1], selectors.start_of_day(now)
    issued = _before_today("issued", now, lambda: selectors.tokens_issued_per_day(DAYS, now, before=midnight))
    for grant, per_day in selectors.tokens_issued_per_day(1, now).items():
        issued.setdefault(grant, dict.fromkeys(days, 0))[today] = per_day[today]
    revoked = _before_today("revoked", now, lambda: selectors.revocations_per_day(DAYS, now, before=midnight))
    revoked[today] = selectors.revocations_per_day(1, now)[today]
    auth = audit_stats.client_authentications_per_day(DAYS, now)
    return {
        "days": [day.isoformat() for day in days],
        "issued": [
            {"label": grant, "data": [per_day[day] for day in days]}
            for grant, per_day in sorted(issued.items())
        ],
        "auth": None
        if auth is None
        else {
            "success": [auth["success"][day] for day in days],
            "failure": [auth["failure"][day] for day in days],
        },
        "revocations": [revoked[day] for day in days],
    }


def cached_chart_data(now) -> dict:
    """chart_data, cached for CONSOLE_DASHBOARD_CACHE_SECONDS: thirty days of a million tokens
    do not change much in a minute, and several operators may watch the page."""
    seconds = settings.CONSOLE_DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return chart_data(now)
    data = cache.get(CHARTS_CACHE_KEY)
    if data is None:
        data = chart_data(now)
        cache.set(CHARTS_CACHE_KEY, data, seconds)
    return data


def _dashboard(request: HttpRequest) -> HttpResponse:
    if not any(request.user.has_perm(permission) for permission in VIEW_PERMISSIONS):
        raise PermissionDenied
    now = timezone.now()
    by_status = selectors.client_counts_by_status()
    tokens = selectors.token_counts(now)
    top = selectors.top_clients_by_active_tokens(10, now, tokens.active_by_client)
    charts = {
        **cached_chart_data(now),
        # Live, from the counts above: costs one query for the names.
        "top_clients": [
            {"name": client.name, "client_id": client.client_id, "active_tokens": client.active_tokens}
            for client in top
        ],
    }
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "console_section": "dashboard",
        "client_counts": [(label, by_status[value], value) for value, label in Client.Status.choices],
        "clients_total": sum(by_status.values()),
        "active_tokens": tokens.active,
        "issued_today": tokens.issued_today,
        "failed_auth_today": audit_stats.failed_client_authentications_today(now),
        "audit_available": audit_stats.audit_available(),
        "charts": charts,
    }
    return TemplateResponse(request, "console/dashboard/home.html", context)


# The admin's wrapper: staff only (others go to the admin login), never cached, CSRF as usual.
dashboard = admin.site.admin_view(_dashboard)
