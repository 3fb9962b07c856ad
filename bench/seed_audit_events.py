"""Add audit events to a database that `seed_tokens` filled, for timing the dashboard.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dash_scale \
        python -m bench.seed_audit_events --events 10000000

`seed_tokens` writes tokens only; the dashboard also reads the audit log (client
authentications, and revocations, which it counts from the log rather than from the token
table). This adds two kinds of event, PostgreSQL only, inside the database:

- `--events` events of the mix `bench.scale` uses (token issued / used, client authenticated,
  ...), spread evenly over `--days` days, with the same SQL as `bench.scale`: the volume the
  dashboard's queries must find their way through;
- one `token_revoked` event (detail count 1) per token that `seed_tokens` marked revoked, at its
  `revoked_at`, as the audit app's receiver would have written it: so the revocation chart read
  from the log can be checked against the token table.

It appends to whatever is there; run it on a copy (`createdb -T`), never on the `test` database.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from urllib.parse import urlsplit

MIRROR_REVOCATIONS_SQL = """
INSERT INTO audit_auditevent (
    occurred_at, event_type, outcome, actor_kind, actor_label, client_id, user_id, username,
    token_id, token_prefix, ip_address, user_agent, request_id, detail, entry_hash)
SELECT
    t.revoked_at, 'token_revoked', 'success', 'system', t.revoked_by, c.client_id, t.user_id, '',
    t.id, t.access_token_prefix, NULL, '', '',
    jsonb_build_object('count', 1, 'reason', t.revoked_reason,
                       'criteria', jsonb_build_object('token_id', t.id)),
    md5('revoked' || t.id) || md5('mirror' || t.id)
FROM server_token t JOIN server_client c ON c.id = t.client_id
WHERE t.revoked_at IS NOT NULL
ORDER BY t.revoked_at
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed_audit_events", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="filler events (default 10M)")
    parser.add_argument("--days", type=int, default=400, help="spread filler over this many days")
    parser.add_argument("--batch", type=int, default=1_000_000, help="rows per INSERT statement")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    name = urlsplit(url).path.lstrip("/")
    if not url.startswith(("postgres://", "postgresql://")) or name in ("", "test", "console_scale2"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL copy of your own (not test, not console_scale2).")
    if args.events < 0 or args.days < 1 or args.batch < 1:
        raise SystemExit("--events >= 0, --days >= 1, --batch >= 1")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.scale import log
    from bench.scale.seeding import EVENT_TYPES, EVENTS_SQL, secondary_indexes_dropped, seed_bulk
    from server.models import Client

    client_ids = list(Client.objects.values_list("client_id", flat=True)) or ["seed-client"]
    started = time.monotonic()
    with secondary_indexes_dropped("audit_auditevent"):
        if args.events:
            now = timezone.now()
            seed_bulk(
                EVENTS_SQL,
                args.events,
                args.batch,
                {
                    "start": now - timedelta(days=args.days),
                    "step": timedelta(days=args.days).total_seconds() / args.events,
                    "types": EVENT_TYPES,
                    "n_types": len(EVENT_TYPES),
                    "clients": client_ids,
                    "n_clients": len(client_ids),
                },
                "audit events",
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(MIRROR_REVOCATIONS_SQL)
            log(f"  {cursor.rowcount:,} token_revoked events mirror the token table's revocations")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    log(f"done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
