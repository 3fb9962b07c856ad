"""Does a per-row hash chain serialise audit writes? Measure it against our lock-free insert.

Each of T threads inserts N audit events, as receivers would (autocommit, one event per write):

  insert       one INSERT with the event's own HMAC (what the audit log does; checkpoints
               chain the events later, off the request path)
  row-chain    a per-row chain: BEGIN; SELECT the chain head FOR UPDATE; HMAC over the event
               and the previous hash; INSERT; UPDATE the head; COMMIT

Run against a scratch database of your own (never a shared one); it is migrated first:

  DATABASE_URL=sqlite:////tmp/audit_bench.sqlite3 .venv/bin/python -m bench.audit_chain
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/audit_bench .venv/bin/python -m bench.audit_chain
"""

import argparse
import hashlib
import hmac
import os
import statistics
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
os.environ.setdefault("OAUTH_CONSOLE_TESTING", "1")  # the development SECRET_KEY is fine here

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from oauth_console.audit import chain, recorder  # noqa: E402
from oauth_console.audit.models import AuditEvent, EventType  # noqa: E402

HEAD_TABLE = "bench_audit_chain_head"


def _event(thread: int, number: int) -> AuditEvent:
    return recorder.build_event(
        EventType.TOKEN_ISSUED,
        client_id=f"bench-client-{thread}",
        actor_kind="client",
        actor_label=f"client:bench-client-{thread}",
        token_id=number,
        token_prefix="oat_abcdefgh",
        detail={"grant_type": "client_credentials", "scope": "read", "expires_in": 3600},
    )


def insert_only(thread: int, number: int) -> None:
    _event(thread, number).save(force_insert=True)


def insert_row_chain(thread: int, number: int) -> None:
    event = _event(thread, number)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT last_hash FROM {HEAD_TABLE} WHERE id = 1 FOR UPDATE"
            if _pg()
            else f"SELECT last_hash FROM {HEAD_TABLE} WHERE id = 1"
        )
        (previous,) = cursor.fetchone()
        event.entry_hash = hmac.new(
            chain.hash_key(), (previous + event.canonical).encode(), hashlib.sha256
        ).hexdigest()
        event.save(force_insert=True)
        cursor.execute(f"UPDATE {HEAD_TABLE} SET last_hash = %s WHERE id = 1", [event.entry_hash])


def _pg() -> bool:
    return connection.vendor == "postgresql"


def run(strategy, threads: int, per_thread: int) -> float:
    """Events per second for `threads` threads each writing `per_thread` events."""
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait()
            for number in range(per_thread):
                strategy(index, number)
        except BaseException as exc:  # reported after the run
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return threads * per_thread / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-thread", type=int, default=1000)
    parser.add_argument("--threads", default="1,2,8")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {HEAD_TABLE} (id integer PRIMARY KEY, last_hash varchar(64))"
        )
        cursor.execute(f"DELETE FROM {HEAD_TABLE}")
        cursor.execute(f"INSERT INTO {HEAD_TABLE} (id, last_hash) VALUES (1, '')")
    AuditEvent.objects.all().delete()
    connections.close_all()

    print(f"database: {connection.vendor}, {args.per_thread} events per thread, median of {args.rounds}")
    print(f"{'threads':>7}  {'insert/s':>10}  {'row-chain/s':>12}  {'row-chain cost':>14}")
    for threads in [int(t) for t in args.threads.split(",")]:
        results = {"insert": [], "row-chain": []}
        for _ in range(args.rounds):  # alternate, so drift hits both alike
            results["insert"].append(run(insert_only, threads, args.per_thread))
            results["row-chain"].append(run(insert_row_chain, threads, args.per_thread))
        plain = statistics.median(results["insert"])
        chained = statistics.median(results["row-chain"])
        print(f"{threads:>7}  {plain:>10.0f}  {chained:>12.0f}  {100 * (1 - chained / plain):>13.0f}%")
    AuditEvent.objects.all().delete()


if __name__ == "__main__":
    main()
