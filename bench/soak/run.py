"""Orchestration of the soak: database, gunicorn, virtual clients, checks, report.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/soak python -m bench.soak [--duration 180]

Bounded and self-stopping: the load ends at `--duration` seconds or `--max-requests` requests,
whichever comes first; gunicorn (loopback only, its own process group) is stopped in every case,
also on errors or ^C. The database named in DATABASE_URL is dropped and recreated, so it must be
called `soak` or `soak_*`.

Checks, after the load: zero 5xx and zero transport errors; every answer as the client expected
(a token it holds works, a refresh works once); every issued access and refresh token is in the
database (by digest) and nothing else is; every revoked token fails at /api/me and is revoked in
the database; the audit log holds exactly one `token_issued` event per issuance and one
revocation event per revocation call.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from urllib.parse import urlsplit

from bench.soak import ROOT, log
from bench.soak.checks import check_database, check_revoked_fail
from bench.soak.report import summarise, write_report
from bench.soak.server import Gunicorn, configure_environment, database_url, recreate_database, seed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=180, help="seconds of load (default 180)")
    parser.add_argument("--max-requests", type=int, default=60_000, help="request budget (default 60000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent virtual clients (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--port", type=int, default=18451)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--no-report", action="store_true", help="do not write bench/results/")
    return parser.parse_args(argv)


def run_load(base_url: str, apps: list[dict], args) -> tuple:
    from bench.soak.load import Budget, Ledger, VirtualClient

    ledger = Ledger()
    virtual = [VirtualClient(base_url, app, ledger, seed=args.seed * 1000 + n) for n, app in enumerate(apps)]
    for client in virtual:
        client.sign_in()
    budget = Budget(args.duration, args.max_requests)
    threads = [
        threading.Thread(target=client.run, args=(budget,), name=f"soak-{n}")
        for n, client in enumerate(virtual)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        # A thread outlives the deadline by at most one request (30 s timeout each).
        thread.join(args.duration + 120)
    elapsed = time.monotonic() - started
    return ledger, elapsed, virtual


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = database_url()
    env = configure_environment(url)
    log(f"recreating {urlsplit(url).path.lstrip('/')} and migrating")
    recreate_database(url)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--no-input", verbosity=0)
    call_command("collectstatic", "--no-input", verbosity=0)
    apps = seed(args.clients)
    from django.db import connections

    connections.close_all()

    server = Gunicorn(args.port, args.workers, args.threads, env)
    failures: list[str] = []
    try:
        server.wait_ready()
        log(f"load: {args.clients} clients, up to {args.duration:.0f} s or {args.max_requests} requests")
        ledger, elapsed, _ = run_load(server.url, apps, args)
        log(f"load done: {ledger.requests} requests in {elapsed:.0f} s; checking revoked tokens over HTTP")
        failures += check_revoked_fail(server.url, ledger)
    finally:
        code = server.stop()
        log(f"gunicorn stopped (exit {code})")
    crashes = [
        line
        for line in server.log_path.read_text().splitlines()
        if "Traceback" in line or "[CRITICAL]" in line
    ]

    counts, database_failures = check_database(ledger)
    failures += database_failures
    failures += [f"5xx: {error}" for error in ledger.server_errors[:20]]
    failures += [f"transport: {error}" for error in ledger.transport_errors[:20]]
    failures += [f"unexpected answer: {message}" for message in ledger.mismatches[:20]]
    failures += [f"gunicorn log: {line}" for line in crashes[:10]]
    load = summarise(ledger, elapsed)
    checks = {
        "zero 5xx": f"{load['server_errors']} 5xx",
        "zero transport errors": f"{load['transport_errors']}",
        "answers as expected": f"{load['mismatches']} unexpected",
        "every issued token in the database (by digest)": "yes"
        if not any("missing" in f for f in failures)
        else "NO",
        "every revoked token fails at /api/me": f"{len(ledger.dead_access)} checked, "
        f"{sum('revoked token' in f for f in failures)} still working",
        "one token_issued event per issuance": (
            f"{counts['audit_token_issued']} for {counts['issued_access_tokens']}"
        ),
        "one revocation event per revocation": (
            f"{counts['audit_revocations']} for {counts['revocation_calls']}"
        ),
    }
    result = {
        "passed": not failures,
        "argv": sys.argv[1:] if argv is None else argv,
        "clients": args.clients,
        "gunicorn": f"{args.workers} gthread workers x {args.threads} threads",
        "load": load,
        "counts": counts,
        "checks": checks,
        "failures": failures,
    }
    for name, value in checks.items():
        log(f"{name}: {value}")
    if not args.no_report:
        log(f"report: {write_report(result).relative_to(ROOT)}")
    if failures:
        log("FAIL")
        for failure in failures[:30]:
            log(f"  {failure}")
        return 1
    log("PASS")
    return 0
