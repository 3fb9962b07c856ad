"""The console and the bulk operations at ten million tokens and tens of millions of audit events.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale_bench nice python -m bench.scale \
        [--tokens 10000000] [--events 30000000] [--repeat 20] [--name scale-10x]

PostgreSQL only, in a database of its own whose name starts with `bench_` or `scale_` (it is
dropped and created again). Seeds with INSERT ... SELECT over generate_series inside PostgreSQL, in batches
with progress (minutes, not hours), into the audit table's monthly partitions, then measures
through Django's test client (in process, production settings, a signed-in superuser): p50/p95
of the token list, a filtered token list, the audit list, audit filters and the dashboard; then
times an export of 100k audit events, revoking every token of a client that holds half of them,
`cleartokens` (interrupted once, then resumed) and `prune_audit_log` of the oldest month (a
partition drop) and of half the next one (rows deleted). Writes
bench/results/<date>-<name>.md and prints it.
"""

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.scale import log
from bench.scale.bulk import measure_cleartokens, measure_export, measure_prune, measure_revoke_all
from bench.scale.pages import measure_active_count, measure_pages
from bench.scale.report import render
from bench.scale.seeding import configure, mark_seeded_events_legacy, recreate, reuse_seeded, seed

RESULTS = Path(__file__).resolve().parent.parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--tokens", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=30_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20, help="requests per page measured")
    parser.add_argument("--batch", type=int, default=250_000, help="rows per seeding statement")
    parser.add_argument(
        "--seed-workers",
        type=int,
        default=2,
        help="connections seeding tokens at once (one core each); audit events use one",
    )
    parser.add_argument("--export-events", type=int, default=100_000)
    parser.add_argument(
        "--interrupt-after",
        type=int,
        default=100,
        help="cleartokens: stop the first run after this many batches, then resume it",
    )
    parser.add_argument("--name", default="scale-postgresql", help="results page: <date>-<name>.md")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database a previous run seeded (its timings are read from bench/work/)",
    )
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help=(
            "time the pages only, none of the bulk operations (which revoke, delete and prune): the "
            "database stays as seeded for the next --reuse; prints the table, writes no result page"
        ),
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "bench.scale needs PostgreSQL: set DATABASE_URL (or --database-url) to a database of its "
            "own, e.g. postgres://postgres@127.0.0.1:5432/bench_scale"
        )
    if args.tokens < 2 or args.events < 1 or args.clients < 2 or args.users < 1:
        raise SystemExit("--tokens >= 2, --events >= 1, --clients >= 2, --users >= 1")

    if not args.reuse:
        recreate(args.database_url)
    configure(args.database_url)
    from django.utils import timezone

    if args.reuse:
        clients, admin, seeding = reuse_seeded()
        mark_seeded_events_legacy()  # a database seeded before the seeding did it
        args.tokens, args.events = seeding["tokens"], seeding["events"]
    else:
        clients, admin, seeding = seed(args)
    first, others = clients[0], clients[1:]
    now = timezone.now()
    rows, loads = measure_pages(args, admin, others)
    rows.extend(measure_active_count(args))
    seeding["load"] = f"{min(loads):.1f}-{max(loads):.1f}"
    if args.pages_only:
        print(render(args, rows, seeding))
        return 0

    rows.append(measure_export(args, now))
    rows.append(measure_revoke_all(first))
    rows.append(measure_cleartokens(args))
    rows.extend(measure_prune(args))

    page = render(args, rows, seeding)
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{datetime.now(UTC):%Y-%m-%d}-{args.name}.md"
    path.write_text(page)
    print(page)
    log(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
