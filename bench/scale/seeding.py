"""The database bench.scale measures: production settings for this process, a database of its
own dropped and created again, and ten million tokens and tens of millions of audit events seeded
inside PostgreSQL (INSERT ... SELECT over generate_series, in committed batches with progress, the
secondary indexes dropped for the load and built again after); or one seeded earlier, reused.
"""

import json
import os
import secrets
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bench.scale import log

# bench.scale drops the database it is given: only names that say they belong to a bench.
OWN_DATABASE_PREFIXES = ("bench_", "scale_")
SPAN_DAYS = 400  # audit events are spread evenly over this many days, oldest first
EVENT_TYPES = (
    ["token_issued"] * 6
    + ["token_authenticated"] * 6
    + ["client_authenticated"] * 4
    + ["token_revoked", "client_authentication_failed", "consent_granted", "user_login", "client_changed"]
)

# Where seed() records its timings, for a later --reuse run's page.
SEED_RECORD = Path(__file__).resolve().parent.parent / "work" / "scale-seed.json"


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
