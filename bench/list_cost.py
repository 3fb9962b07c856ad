"""What one console list view costs this process: CPU time and SQL statements per page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale_small python -m bench.list_cost \
        [--views 15] [--profile "token list"]

On a database `bench.scale` seeded (any size: the rendering cost is per row shown, not per row
stored), signs in its superuser and GETs each console list through Django's test client,
`--views` times after two warm-ups, and prints per page the median CPU time of this process
(`time.process_time`: the rendering, not the database's work, and much steadier than wall time
on a shared machine), the median wall time and the number of statements. `--profile NAME`
prints cProfile's top functions of that page instead.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time


def pages() -> list[tuple[str, str]]:
    from server.models import Client

    clients = list(Client.objects.filter(name__startswith="scale client ").order_by("pk")[:2])
    if len(clients) < 2:
        raise SystemExit("bench.list_cost: this database was not seeded by bench.scale")
    other = clients[1]
    return [
        ("token list", "/admin/server/token/"),
        ("token list, client", f"/admin/server/token/?client={other.pk}"),
        ("token list, active", "/admin/server/token/?status=active"),
        ("token list, client + active", f"/admin/server/token/?client={other.pk}&status=active"),
        ("audit list", "/admin/audit/auditevent/"),
        ("audit list, event type", "/admin/audit/auditevent/?event_type=token_revoked"),
        ("audit list, client", f"/admin/audit/auditevent/?client_id={other.client_id}"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.list_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=15)
    parser.add_argument("--profile", help="the name of one page: print its cProfile instead")
    args = parser.parse_args(argv)

    os.environ["DEBUG"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client as TestClient
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = ["*"]
    browser = TestClient()
    browser.force_login(get_user_model().objects.get(username="scale-admin"))
    chosen = pages()
    if args.profile:
        chosen = [(name, url) for name, url in chosen if name == args.profile]
        if not chosen:
            raise SystemExit(f"no page named {args.profile!r}")

    print(f"{'page':32} {'CPU ms':>8} {'wall ms':>8} {'SQL':>4}")
    for name, url in chosen:
        for _ in range(2):
            assert browser.get(url, secure=True).status_code == 200
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.views):
                browser.get(url, secure=True)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(int(os.environ.get("TOP", "45")))
            stats.sort_stats("tottime").print_stats(30)
            print(out.getvalue())
            continue
        cpu, wall = [], []
        for _ in range(args.views):
            with CaptureQueriesContext(connection) as captured:
                c0, w0 = time.process_time(), time.perf_counter()
                response = browser.get(url, secure=True)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
            assert response.status_code == 200, (url, response.status_code)
        statements = len(captured.captured_queries)
        cpu_ms, wall_ms = statistics.median(cpu) * 1000, statistics.median(wall) * 1000
        print(f"{name:32} {cpu_ms:8.1f} {wall_ms:8.1f} {statements:4d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
