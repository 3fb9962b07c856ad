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
import io
import json
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

RESULTS = Path(__file__).resolve().parent / "results"
# bench.scale drops the database it is given: only names that say they belong to a bench.
OWN_DATABASE_PREFIXES = ("bench_", "scale_")
SPAN_DAYS = 400  # audit events are spread evenly over this many days, oldest first
EVENT_TYPES = (
    ["token_issued"] * 6
    + ["token_authenticated"] * 6
    + ["client_authenticated"] * 4
    + ["token_revoked", "client_authentication_failed", "consent_granted", "user_login", "client_changed"]
)


def log(message: str) -> None:
    print(f"[scale] {message}", flush=True)


@dataclass
class Row:
    """One line of the results table."""

    what: str
    samples: list[float]  # seconds
    target_s: float | None = None
    percentile: str = "p95"
    note: str = ""

    def quantile(self, q: float) -> float:
        values = sorted(self.samples)
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]

    def cells(self) -> list[str]:
        def ms(value: float) -> str:
            return "—" if math.isnan(value) else f"{value * 1000:,.0f}"

        if len(self.samples) > 1:
            p50, p95 = self.quantile(0.5), self.quantile(0.95)
            measured = p95
            timing = [ms(p50), ms(p95)]
        else:
            measured = self.samples[0] if self.samples else float("nan")
            timing = ["", ms(measured)]
        if self.target_s is None:
            verdict = ""
        elif math.isnan(measured):
            verdict = "failed"
        else:
            verdict = (
                "yes" if measured <= self.target_s else f"no ({measured / self.target_s:.1f}x the target)"
            )
        target = "" if self.target_s is None else f"< {self.target_s * 1000:,.0f} ms"
        return [self.what, str(len(self.samples)), *timing, target, verdict, self.note]


# --- setup ----------------------------------------------------------------------------------------


def configure(url: str) -> None:
    """Production settings for this process, then Django itself."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # not one log line per audit event
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
    import django

    django.setup()


def recreate(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if not name.startswith(OWN_DATABASE_PREFIXES):
        raise SystemExit(
            f"bench.scale drops and recreates its database: use one named bench_* or scale_*, not {name!r}."
        )
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def seed_clients_and_users(client_ids: list[str], n_users: int):
    """Clients through the one write path; users in one bulk INSERT (their passwords unusable)."""
    from django.contrib.auth import get_user_model

    from server import services
    from server.actors import Actor

    actor = Actor.system("bench.scale")
    clients = [
        services.create_client(
            name=f"scale client {n}",
            client_id=client_id,
            actor=actor,
            redirect_uris=[f"https://app{n}.example/callback"],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            scope=["profile", "read"],
        )[0]
        for n, client_id in enumerate(client_ids)
    ]
    User = get_user_model()
    User.objects.bulk_create(User(username=f"scale-user-{n}", password="!") for n in range(n_users))
    users = list(User.objects.filter(username__startswith="scale-user-").values_list("pk", flat=True))
    admin = User.objects.create_superuser("scale-admin", "scale-admin@example.com", secrets.token_urlsafe(16))
    return clients, users, admin


TOKENS_SQL = """
INSERT INTO server_token (
    access_token_digest, access_token_prefix, refresh_token_digest, refresh_token_prefix, token_type,
    client_id, user_id, grant_type, scope, issued_at, expires_at, refresh_expires_at,
    revoked_by, revoked_reason, family_id)
SELECT
    md5('a' || i) || md5('b' || i),
    'oat_' || substr(md5('p' || i), 1, 8),
    CASE WHEN cc THEN NULL ELSE md5('r' || i) || md5('s' || i) END,
    CASE WHEN cc THEN '' ELSE 'ort_' || substr(md5('q' || i), 1, 8) END,
    'Bearer',
    -- Every other token belongs to the first client: the one that revoke-all empties.
    CASE WHEN i %% 2 = 0 THEN %(first)s ELSE (%(others)s::bigint[])[1 + (i / 2) %% %(n_others)s] END,
    CASE WHEN cc THEN NULL ELSE (%(users)s::bigint[])[1 + i %% %(n_users)s] END,
    CASE WHEN cc THEN 'client_credentials' WHEN i %% 3 = 0 THEN 'refresh_token' ELSE 'authorization_code' END,
    'profile read',
    issued,
    issued + CASE WHEN active THEN interval '30 days' ELSE interval '1 hour' END,
    CASE WHEN cc THEN NULL WHEN active THEN issued + interval '30 days' ELSE issued + interval '1 hour' END,
    '', '', gen_random_uuid()
FROM (
    SELECT i, i %% 5 = 0 AS cc, i %% 33 = 0 AS active,
           now() - random() * interval '29 days' - interval '2 hours' AS issued
    FROM generate_series(%(low)s, %(high)s) AS i
) AS s
"""

EVENTS_SQL = """
INSERT INTO audit_auditevent (
    occurred_at, event_type, outcome, actor_kind, actor_label, client_id, user_id, username,
    token_id, token_prefix, ip_address, user_agent, request_id, detail, entry_hash)
SELECT
    %(start)s::timestamptz + make_interval(secs => i * %(step)s),
    (%(types)s::text[])[1 + i %% %(n_types)s],
    CASE WHEN i %% 40 = 0 THEN 'failure' ELSE 'success' END,
    'client',
    'client:' || (%(clients)s::text[])[1 + i %% %(n_clients)s],
    (%(clients)s::text[])[1 + i %% %(n_clients)s],
    1 + i %% 200,
    'scale-user-' || (i %% 200),
    i,
    'oat_' || substr(md5('p' || i), 1, 8),
    ('10.' || (i %% 200) || '.' || (i / 200 %% 250) || '.' || (1 + i %% 250))::inet,
    'bench-scale/1.0',
    md5('req' || i),
    '{}'::jsonb,
    md5('e' || i) || md5('h' || i)
FROM generate_series(%(low)s, %(high)s) AS i
"""


def seed_bulk(sql: str, total: int, batch: int, params: dict, what: str, workers: int = 1) -> float:
    """Run `sql` over 1..total in batches of `batch`, each committed, with progress; seconds.

    With `workers` > 1 the batches run on that many connections at once (the INSERT ... SELECT
    of one connection keeps one core busy on its own)."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from django.db import connection, transaction

    started = time.monotonic()
    ranges = [(low, min(total, low + batch - 1)) for low in range(1, total + 1, batch)]

    def insert(low: int, high: int) -> int:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, {**params, "low": low, "high": high})
        finally:
            if workers > 1:
                connection.close()  # this thread's own connection
        return high - low + 1

    done = 0
    if workers <= 1:
        results = (insert(low, high) for low, high in ranges)
    else:
        pool = ThreadPoolExecutor(max_workers=workers)
        results = (future.result() for future in as_completed([pool.submit(insert, *r) for r in ranges]))
    for rows in results:
        done += rows
        elapsed = time.monotonic() - started
        log(f"  {what}: {done:,}/{total:,} ({elapsed:.0f}s, {done / max(elapsed, 1e-9):,.0f} rows/s)")
    return time.monotonic() - started


@contextmanager
def secondary_indexes_dropped(table: str):
    """Drop `table`'s plain (non-constraint) indexes for a bulk load and build them again after:
    one sort per index beats ten million index insertions."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.tablename = %s AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """,
            [table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for name, definition in indexes:
                # A partitioned table's index reads "ON ONLY": built so it would cover no partition.
                cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
                log(f"  index {name} rebuilt ({time.monotonic() - started:.0f}s)")


def month_partitions_for(since, until) -> None:
    """The audit table's month partitions over the seeded span (the migration made this month's
    and the next three; without the rest every seeded event would land in the default)."""
    from oauth_console.audit import partitions

    month = partitions.month_of(since)
    while month <= partitions.month_of(until):
        partitions.create_month(month)
        month = partitions.next_month(month)


def mark_seeded_events_legacy() -> None:
    """The seeded events carry no position hash (their hashes are filler, not HMACs): a legacy
    record, as migration audit.0007 writes for a log older than position hashes, lets the
    sealer cover them instead of refusing each one."""
    from oauth_console.audit import chain
    from oauth_console.audit.models import AuditEvent, Checkpoint

    ids = AuditEvent.objects.order_by("pk").values_list("pk", flat=True)
    first, last = ids.first(), ids.reverse().first()
    if last is None or Checkpoint.objects.filter(kind=Checkpoint.Kind.LEGACY).exists():
        return
    Checkpoint.objects.create(
        kind=Checkpoint.Kind.LEGACY,
        first_event_id=first,
        last_event_id=last,
        event_count=0,
        id_ranges=[],
        prev_digest="",
        digest=chain.legacy_digest(last_event_id=last),
    )


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE server_token")
        cursor.execute("VACUUM ANALYZE audit_auditevent")


# --- measuring ------------------------------------------------------------------------------------


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


def timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def timed_with_queries(function) -> tuple[float, object, str]:
    """Like `timed`, and say how many queries ran and which one took longest (for the profile)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        seconds, result = timed(function)
    if not queries.captured_queries:
        return seconds, result, "no queries"
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    total = sum(float(q["time"]) for q in queries.captured_queries)
    sql = " ".join(slowest["sql"].split())[:90].replace("|", "/")
    return (
        seconds,
        result,
        (
            f"{len(queries.captured_queries)} queries, {total:.1f}s in SQL; "
            f"slowest {float(slowest['time']):.2f}s: {sql}…"
        ),
    )


SEED_RECORD = Path(__file__).resolve().parent / "work" / "scale-seed.json"


def seed(args) -> tuple[list, object, dict]:
    """Migrate and fill the fresh database; return the clients, the superuser and the timings."""
    from django.core.management import call_command
    from django.utils import timezone

    started = time.monotonic()
    log("migrate and collect static files (production storage)")
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    # Events first: the log is append-only and ordered by id, so the history comes before the
    # events that creating the clients writes (prune cuts at the first event it must keep).
    client_ids = [f"scale-{n}-{secrets.token_hex(6)}" for n in range(args.clients)]
    log(f"seeding {args.events:,} audit events")
    now = timezone.now()
    span = timedelta(days=SPAN_DAYS)
    step = span.total_seconds() / args.events
    events_started = time.monotonic()
    month_partitions_for(now - span, now)
    with secondary_indexes_dropped("audit_auditevent"):
        seed_bulk(
            EVENTS_SQL,
            args.events,
            max(args.batch, 1_000_000),
            {
                "start": now - span,
                "step": step,
                "types": EVENT_TYPES,
                "n_types": len(EVENT_TYPES),
                "clients": client_ids,
                "n_clients": len(client_ids),
            },
            "audit events",
            # One connection: the log is ordered by id as by time (prune cuts at the first id
            # it keeps, the seal covers id ranges); batches on two connections interleave ids.
            1,
        )
    event_seconds = time.monotonic() - events_started
    mark_seeded_events_legacy()
    clients, users, admin = seed_clients_and_users(client_ids, args.users)
    first, others = clients[0], clients[1:]
    log(f"seeding {args.tokens:,} tokens")
    tokens_started = time.monotonic()
    with secondary_indexes_dropped("server_token"):
        seed_bulk(
            TOKENS_SQL,
            args.tokens,
            args.batch,
            {
                "first": first.pk,
                "others": [c.pk for c in others],
                "n_others": len(others),
                "users": users,
                "n_users": len(users),
            },
            "tokens",
            args.seed_workers,
        )
    token_seconds = time.monotonic() - tokens_started
    log("VACUUM ANALYZE")
    vacuum_analyze()
    seeding = {
        "tokens": args.tokens,
        "events": args.events,
        "token_seconds": round(token_seconds),
        "event_seconds": round(event_seconds),
        "seeded_in": round(time.monotonic() - started),
    }
    SEED_RECORD.parent.mkdir(parents=True, exist_ok=True)
    SEED_RECORD.write_text(json.dumps(seeding))
    return clients, admin, seeding


def reuse_seeded() -> tuple[list, object, dict]:
    """The clients and superuser of a database seeded earlier, and its recorded timings."""
    from django.contrib.auth import get_user_model

    from oauth_console.audit.models import AuditEvent
    from server.models import Client, Token

    clients = list(Client.objects.filter(name__startswith="scale client ").order_by("pk"))
    if len(clients) < 2:
        raise SystemExit("--reuse: this database was not seeded by bench.scale")
    admin = get_user_model().objects.get(username="scale-admin")
    seeding = json.loads(SEED_RECORD.read_text()) if SEED_RECORD.exists() else {}
    seeding.setdefault("tokens", Token.objects.count())
    seeding.setdefault("events", AuditEvent.objects.count())
    return clients, admin, seeding


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
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client as TestClient
    from django.utils import timezone

    from oauth_console.dashboard.views import CHARTS_CACHE_KEY
    from server import services
    from server.actors import Actor
    from server.models import Token

    if args.reuse:
        clients, admin, seeding = reuse_seeded()
        mark_seeded_events_legacy()  # a database seeded before the seeding did it
        args.tokens, args.events = seeding["tokens"], seeding["events"]
    else:
        clients, admin, seeding = seed(args)
    first, others = clients[0], clients[1:]
    now = timezone.now()
    step = timedelta(days=SPAN_DAYS).total_seconds() / args.events
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
    rows.extend(measure_active_count(args))
    seeding["load"] = f"{min(loads):.1f}-{max(loads):.1f}"
    if args.pages_only:
        print(render(args, rows, seeding))
        return 0

    # An export of about --export-events events, from the middle of the retained range.
    window = timedelta(seconds=step * args.export_events)
    since = now - timedelta(days=100)
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        log(f"export of ~{args.export_events:,} audit events")
        seconds, _ = timed(
            lambda: call_command(
                "export_audit_log",
                since=since.isoformat(),
                until=(since + window).isoformat(),
                output=out.name,
                stderr=io.StringIO(),
            )
        )
        exported = sum(1 for _ in open(out.name, encoding="utf-8"))  # noqa: SIM115
    rows.append(Row("export_audit_log (jsonl)", [seconds], note=f"{exported:,} events"))

    big = Token.objects.filter(client=first).count()
    log(f"revoke-all of {first.name}: {big:,} tokens")
    seconds, count, queries = timed_with_queries(
        lambda: services.revoke_tokens(
            Token.objects.filter(client=first), actor=Actor.system("bench.scale"), reason="scale test"
        )
    )
    rows.append(
        Row(
            "revoke every token of one client (services.revoke_tokens)",
            [seconds],
            None,
            note=f"{count:,} tokens; {queries}",
        )
    )

    rows.append(measure_cleartokens(args))
    rows.extend(measure_prune(args))

    page = render(args, rows, seeding)
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{datetime.now(UTC):%Y-%m-%d}-{args.name}.md"
    path.write_text(page)
    print(page)
    log(f"written {path}")
    return 0


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


class Interrupted(Exception):
    """Stops cleartokens part-way, as a deploy or a timeout would."""


def measure_cleartokens(args) -> Row:
    """cleartokens over every expired token: a first run stopped after --interrupt-after
    batches, then `manage.py cleartokens`, which resumes after the recorded key."""
    from django.core.management import call_command
    from django.utils import timezone

    from server import services
    from server.models import Token

    now = timezone.now()
    expired = Token.objects.filter(expires_at__lte=now).exclude(refresh_expires_at__gt=now)
    expected = expired.count()
    log(
        f"cleartokens: {expected:,} expired tokens; "
        f"stopped after {args.interrupt_after} batches, then resumed"
    )
    batches = 0

    def stop_part_way(deleted_so_far: int, last_key: int) -> None:
        nonlocal batches
        batches += 1
        if batches >= args.interrupt_after:
            raise Interrupted(last_key)

    started = time.perf_counter()
    with suppress(Interrupted):
        services.clear_expired_tokens(progress=stop_part_way)
    first_run = time.perf_counter() - started
    out = io.StringIO()
    seconds, _, queries = timed_with_queries(lambda: call_command("cleartokens", stdout=out))
    lines = out.getvalue().splitlines()
    resumed = next((line.strip() for line in lines if "resuming after" in line), "did not resume")
    progress = sum(1 for line in lines if "so far" in line)
    deleted = expected - expired.count()
    log(f"  {resumed}; {progress} progress lines; {first_run + seconds:.0f}s")
    return Row(
        "cleartokens: stopped part-way, then resumed (both runs)",
        [first_run + seconds],
        300.0 * max(deleted, 1) / 10_000_000,
        note=(
            f"{deleted:,} tokens deleted; first run {first_run:.0f}s; second run {seconds:.0f}s, "
            f"{resumed}, {progress:,} progress lines; {queries}"
        ),
    )


def measure_prune(args) -> list[Row]:
    """prune_audit_log of the oldest month (its partition dropped) and then of half the next
    month (its rows deleted), each after sealing what it prunes (the every-minute seal job's
    work, done long before in production; timed on its own line)."""
    from django.core.management import call_command
    from django.utils import timezone

    from oauth_console.audit import checkpoints, partitions
    from oauth_console.audit.models import AuditEvent

    rows = []
    months = [
        month for month, name in partitions.months().items() if partitions.id_bounds(name)[0] is not None
    ]
    if len(months) < 3:
        return rows
    second = months[1]
    cuts = [
        (
            "prune_audit_log: the oldest month (dropped whole)",
            datetime(second.year, second.month, 1, tzinfo=UTC),
        ),
        (
            "prune_audit_log: half the next month (rows deleted)",
            datetime(second.year, second.month, 1, tzinfo=UTC) + timedelta(days=15),
        ),
    ]
    for what, cutoff in cuts:
        hours = math.floor((timezone.now() - cutoff) / timedelta(hours=1))
        cutoff = timezone.now() - timedelta(hours=hours)
        limit = (
            AuditEvent.objects.filter(occurred_at__gte=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        log(f"sealing up to event #{limit - 1} (the seal job's work)")
        sealing, sealed = timed(lambda limit=limit: checkpoints.seal(through_event_id=limit - 1, delay=0))
        rows.append(
            Row("seal_audit_log's work before that prune", [sealing], note=f"{sealed:,} events sealed")
        )
        log(f"prune_audit_log --older-than {hours}h")
        out, err = io.StringIO(), io.StringIO()
        seconds, _ = timed(
            lambda hours=hours, out=out, err=err: call_command(
                "prune_audit_log", older_than=f"{hours}h", stdout=out, stderr=err
            )
        )
        summary = out.getvalue().strip().replace("|", "/")
        rows.append(Row(what, [seconds], 1.0 if "dropped whole" in what else None, note=summary))
    return rows


def render(args, rows: list[Row], seeding: dict) -> str:
    from django.db import connection

    from bench.report import markdown_table

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    header = ["Measurement", "n", "p50 ms", "p95 ms (or the one run)", "Target", "Met", "Note"]
    return "\n".join(
        [
            f"# Scale results, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            "Produced by `python -m bench.scale` (bench/scale.py).",
            "",
            f"- PostgreSQL {version}, {os.cpu_count()} CPUs; Django test client in process, DEBUG off, "
            "a signed-in superuser",
            f"- {args.tokens:,} tokens (half of them one client's; ~97% expired) "
            f"seeded in {seeding.get('token_seconds', '?')}s; "
            f"{args.events:,} audit events over {SPAN_DAYS} days "
            f"seeded in {seeding.get('event_seconds', '?')}s "
            "(indexes rebuilt after the load)"
            + (f"; setup in all {seeding['seeded_in']}s" if "seeded_in" in seeding else ""),
            f"- pages: {args.repeat} timed requests each after 2 warm-ups; load average (1 min) "
            f"during the pages {seeding.get('load', '?')} (`os.getloadavg`)",
            "- targets (issue 13 §6): list pages and dashboard p95 < 300 ms; pruning a month < 1 s; "
            "cleartokens of ten million < 5 min (scaled to the number deleted); revoke-all (issue 7: "
            "500k < 10 s) is reported without a target",
            "",
            markdown_table(header, [row.cells() for row in rows]),
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
