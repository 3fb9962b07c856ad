"""The console pages timed through Django's test client, in process, as the signed-in superuser:
the token, client and audit lists (plain and filtered) and the dashboard; and the once-a-minute
count of active tokens per client behind the dashboard and the client list."""

import os
import time

from bench.scale import log
from bench.scale.report import Row
from bench.scale.timing import timed


def timed_pages(client, url: str, repeat: int, *, before=None) -> tuple[list[float], str]:
    """GET `url` `repeat` times after two warm-ups; the durations, and a note if any failed."""
    for _ in range(2):
        client.get(url, secure=True)
    durations, failures = [], []
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        response = client.get(url, secure=True)
        durations.append(time.perf_counter() - started)
        if response.status_code != 200:
            failures.append(response.status_code)
    note = f"HTTP {sorted(set(failures))} on {len(failures)} requests" if failures else ""
    return durations, note


def measure_pages(args, admin, others) -> tuple[list[Row], list[float]]:
    """p50/p95 of each page, `--repeat` requests after two warm-ups; and the load average (1 min)
    before the first and after each."""
    from django.core.cache import cache
    from django.test import Client as TestClient

    from oauth_console.dashboard.views import CHARTS_CACHE_KEY

    # A page that fails is recorded as such, not a reason to stop the whole run.
    browser = TestClient(raise_request_exception=False)
    browser.force_login(admin)
    rows: list[Row] = []
    pages = [
        ("token list (newest first)", "/admin/server/token/", None),
        ("token list filtered by client", f"/admin/server/token/?client={others[0].pk}", None),
        ("token list filtered: active", "/admin/server/token/?status=active", None),
        (
            "token list filtered: client + active",
            f"/admin/server/token/?client={others[0].pk}&status=active",
            None,
        ),
        ("client list (active tokens per client)", "/admin/server/client/", None),
        ("audit list (newest first)", "/admin/audit/auditevent/", None),
        ("audit filtered by event type", "/admin/audit/auditevent/?event_type=token_revoked", None),
        ("audit filtered by client", f"/admin/audit/auditevent/?client_id={others[0].client_id}", None),
        ("dashboard /console/ (cached charts)", "/console/", None),
        # What a view pays once a minute: today's buckets (the finished days stay cached).
        ("dashboard /console/ (today recomputed)", "/console/", lambda: cache.delete(CHARTS_CACHE_KEY)),
        ("dashboard /console/ (cache cleared each time)", "/console/", cache.clear),
    ]
    loads = [os.getloadavg()[0]]
    for what, url, before in pages:
        log(f"measuring {what}: {url}")
        durations, note = timed_pages(browser, url, args.repeat, before=before)
        rows.append(Row(what, durations, target_s=0.300, note=note))
        loads.append(os.getloadavg()[0])
    return rows, loads


def measure_active_count(args) -> list[Row]:
    """The count behind the top clients and the client list above the exact-count limit: what
    the one view a minute that finds the kept count stale pays (oauth_console.dashboard.
    active_counts; absent in code before it)."""
    from django.utils import timezone

    try:
        from oauth_console.dashboard import active_counts
    except ImportError:
        return []
    durations = []
    for _ in range(max(3, args.repeat // 4)):
        seconds, _ = timed(lambda: active_counts.count(timezone.now()))
        durations.append(seconds)
    return [
        Row(
            "active tokens per client counted (at most once a minute, kept)",
            durations,
            note="one grouped query; the views in between read the kept count",
        )
    ]
