"""Time the operator console's pages on a big token table (PostgreSQL).

    createdb -h 127.0.0.1 -U postgres console_scale
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/console_scale DEBUG=1
    python manage.py migrate && python manage.py seed_tokens --count 1000000 --clients 20 --users 200
    python -m bench.console_scale [--repeat 5]

Renders each page through Django's test client as a superuser (no network, no browser), and
prints the median, 95th percentile and best wall time and the number of SQL queries. The revocation of every
token of the busiest client runs for real and is then rolled back, so the bench can be repeated.
"""

import argparse
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--dashboard-only",
        action="store_true",
        help="time the dashboard cases only (no lists, no revoke-all)",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ["CONSOLE_DASHBOARD_CACHE_SECONDS"] = "60"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    from server.models import Client, Token

    settings.ALLOWED_HOSTS = ["*"]
    user_model = get_user_model()
    admin = user_model.objects.filter(username="bench-admin").first() or user_model.objects.create_superuser(
        "bench-admin", "bench@example.com", None
    )
    http = HttpClient()
    http.force_login(admin)

    total = Token.objects.order_by().count()
    busiest = Token.objects.values("client").annotate(n=Count("pk")).order_by("-n").first()
    client = Client.objects.get(pk=busiest["client"])
    user_id = Token.objects.filter(user__isnull=False).values_list("user_id", flat=True).first()
    print(f"{connection.vendor}: {total:,} tokens; busiest client {client.client_id} has {busiest['n']:,}")

    pages = [
        ("token list", "/admin/server/token/"),
        ("token list, client + active", f"/admin/server/token/?client={client.pk}&status=active"),
        ("token list, user", f"/admin/server/token/?user={user_id}"),
        ("token list, revoked", "/admin/server/token/?status=revoked"),
        ("token list, page 50", "/admin/server/token/?p=50"),
        ("client list", "/admin/server/client/"),
        ("client page (busiest)", f"/admin/server/client/{client.pk}/change/"),
    ]

    def timed(method, url, data=None, before=None):
        times, queries, status = [], 0, None
        for _ in range(args.repeat):
            if before:
                before()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = getattr(http, method)(url, data or {})
                times.append(time.perf_counter() - started)
            queries, status = len(captured.captured_queries), response.status_code
        return times, queries, status

    def report(name, times, queries, status):
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]
        median, best = statistics.median(times), min(times)
        print(
            f"{name:38} {median * 1000:7.0f}ms {p95 * 1000:7.0f}ms {best * 1000:7.0f}ms {queries:8d} {status}"
        )

    print(f"{'page':38} {'median':>9} {'p95':>9} {'best':>9} {'queries':>8} status")
    for name, url in [] if args.dashboard_only else pages:
        report(name, *timed("get", url))

    from datetime import timedelta

    from django.utils import timezone

    from oauth_console.dashboard import active_counts
    from oauth_console.dashboard.models import DayTotal
    from oauth_console.dashboard.views import CHARTS_CACHE_KEY, TOP_CLIENTS_CACHE_KEY

    def top_clients_due():
        # The kept count of active tokens per client is in the cache and the database.
        cache.delete_many([TOP_CLIENTS_CACHE_KEY, active_counts.CACHE_KEY])
        DayTotal.objects.filter(series=active_counts.SERIES).delete()

    def no_history():
        # The first view after installing (or after emptying the stored day totals).
        DayTotal.objects.all().delete()
        cache.clear()

    def new_day():
        # What a new day finds: yesterday not stored yet; the rest of the history is.
        DayTotal.objects.filter(day=timezone.localdate() - timedelta(days=1)).delete()
        cache.delete(CHARTS_CACHE_KEY)

    # Above CONSOLE_EXACT_COUNT_LIMIT active tokens the count is an estimate and the top clients
    # are counted at most once a minute, never in the same view that recomputes the charts.
    dashboard_cases = (
        ("dashboard (no history: 30 days counted)", no_history),
        ("dashboard (cold cache, history stored)", cache.clear),
        ("dashboard (first view of a day)", new_day),
        ("dashboard (today recomputed, each 60 s)", lambda: cache.delete(CHARTS_CACHE_KEY)),
        ("dashboard (top clients counted, 60 s)", top_clients_due),
        ("dashboard (charts cached 60 s)", None),
    )
    http.get("/console/")  # stores the day history, as any earlier view did
    for name, before in dashboard_cases:
        report(name, *timed("get", "/console/", before=before))
    if args.dashboard_only:
        return

    bulk = "/admin/server/token/revoke/"
    report(
        "revoke-all: confirmation count",
        *timed("post", bulk, {"client_id": client.client_id, "reason": "bench"}),
    )

    active = Token.objects.filter(client=client, revoked_at__isnull=True).count()
    with transaction.atomic():
        started = time.perf_counter()
        response = http.post(bulk, {"client_id": client.client_id, "reason": "bench", "confirm": "yes"})
        elapsed = time.perf_counter() - started
        revoked = Token.objects.filter(client=client, revoked_reason="bench").count()
        transaction.set_rollback(True)
    print(
        f"{'revoke-all: one UPDATE':38} {elapsed * 1000:7.0f}ms {'':>19} {'':>8} {response.status_code}"
        f"  ({revoked:,} of {active:,} unrevoked tokens; rolled back)"
    )


if __name__ == "__main__":
    main()
