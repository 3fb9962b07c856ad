"""The slow statements behind each console page of a database `bench.scale` seeded, with their plans.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale_x python -m bench.explain_pages [--over-ms 20]

Renders each page once (warm) through Django's test client as the seeded superuser, captures its
SQL, and prints every statement that took more than --over-ms with EXPLAIN (ANALYZE, BUFFERS).
Read-only: EXPLAIN ANALYZE of a SELECT changes nothing; other statements are listed, not run.
"""

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.explain_pages", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--over-ms", type=float, default=20.0)
    parser.add_argument("--clear-cache", action="store_true", help="flush the cache before each page")
    args = parser.parse_args(argv)

    from bench.scale.seeding import configure

    configure(os.environ["DATABASE_URL"])
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client as TestClient
    from django.test.utils import CaptureQueriesContext

    from bench.scale.seeding import reuse_seeded

    clients, admin, _ = reuse_seeded()
    other = clients[1]
    browser = TestClient(raise_request_exception=False)
    browser.force_login(admin)
    pages = [
        "/admin/server/token/",
        f"/admin/server/token/?client={other.pk}",
        "/admin/server/token/?status=active",
        f"/admin/server/token/?client={other.pk}&status=active",
        "/admin/server/client/",
        "/admin/audit/auditevent/",
        f"/admin/audit/auditevent/?client_id={other.client_id}",
        "/console/",
    ]
    for url in pages:
        browser.get(url, secure=True)  # warm
        if args.clear_cache:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = browser.get(url, secure=True)
        total = sum(float(q["time"]) for q in queries.captured_queries)
        print(
            f"\n=== {url}: HTTP {response.status_code}, {len(queries)} statements, {total * 1000:.0f} ms SQL"
        )
        for query in queries.captured_queries:
            ms = float(query["time"]) * 1000
            if ms < args.over_ms:
                continue
            sql = query["sql"]
            print(f"--- {ms:.0f} ms: {' '.join(sql.split())[:300]}")
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                # The captured text has its parameters inlined as Django quotes them for display.
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                print("\n".join(f"    {row[0]}" for row in cursor.fetchall()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
