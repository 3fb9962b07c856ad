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
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "bench" / "work"
# Rate limits on, but out of reach of one load generator on one address.
OFF_LIMITS = "1000000000/60"


def log(message: str) -> None:
    print(f"[soak] {message}", flush=True)


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


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/soak")
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("The soak runs on PostgreSQL: set DATABASE_URL=postgres://.../soak")
    if not (name == "soak" or name.startswith("soak_")):
        raise SystemExit(f"Refusing to recreate database {name!r}: the soak only manages 'soak' or 'soak_*'.")
    return url


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def configure_environment(url: str) -> dict[str, str]:
    """Production settings for both gunicorn and this process (which checks the database)."""
    env = {
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        # Production requires a configured issuer (system check server.E001).
        "OAUTH2_ISSUER": "https://127.0.0.1",
        "SECURE_PROXY_SSL_HEADER": "1",
        "SESSION_COOKIE_SECURE": "0",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": "locmem://",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "oauth_console.settings",
    }
    for name in ("TOKEN", "INTROSPECT", "REVOKE"):
        env[f"OAUTH2_RATE_LIMIT_{name}_IP"] = OFF_LIMITS
        env[f"OAUTH2_RATE_LIMIT_{name}_CLIENT"] = OFF_LIMITS
    env["OAUTH2_RATE_LIMIT_LOGIN_IP"] = OFF_LIMITS
    os.environ.update(env)
    return {**os.environ}


def seed(clients: int) -> list[dict]:
    """One confidential client and one user per virtual client, through the services."""
    from django.contrib.auth import get_user_model

    from server import services
    from server.actors import Actor

    apps = []
    for n in range(clients):
        password = secrets.token_urlsafe(16)
        get_user_model().objects.create_user(f"soak-user-{n}", f"soak{n}@example.com", password)
        client, secret = services.create_client(
            name=f"Soak app {n}",
            actor=Actor.system("soak"),
            redirect_uris=["https://app.example.com/callback"],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            scope=["profile", "email", "read"],
        )
        apps.append(
            {
                "client_id": client.client_id,
                "client_secret": secret,
                "username": f"soak-user-{n}",
                "password": password,
            }
        )
    return apps


class Gunicorn:
    """gunicorn on loopback in its own process group; `stop` always ends every worker."""

    def __init__(self, port: int, workers: int, threads: int, env: dict[str, str]):
        WORK.mkdir(parents=True, exist_ok=True)
        self.log_path = WORK / "soak-gunicorn.log"
        self.port = port
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--graceful-timeout",
            "20",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
            "oauth_console.wsgi:application",
        ]
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(self.url + "/.well-known/oauth-authorization-server", timeout=2)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> int | None:
        """SIGTERM (graceful: workers finish, flush the audit writer and exit), then SIGKILL."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                log("gunicorn did not stop in 40 s: killing it")
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()
        return self.process.returncode


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


def check_revoked_fail(base_url: str, ledger) -> list[str]:
    """Every access token revoked during the run (directly or with its family) fails at /api/me."""
    import requests

    failures = []
    session = requests.Session()
    session.headers["X-Forwarded-Proto"] = "https"
    for token in sorted(ledger.dead_access):
        response = session.get(base_url + "/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if response.status_code != 401:
            failures.append(f"revoked token {token[:12]}… answered {response.status_code}")
    return failures


def check_database(ledger) -> tuple[dict, list[str]]:
    """Tokens and audit events against what the clients saw."""
    from oauth_console.audit.models import AuditEvent, EventType
    from server.credentials import digest
    from server.models import Token

    failures = []
    access = {digest(value) for value in ledger.issued_access}
    refresh = {digest(value) for value in ledger.issued_refresh}
    stored_access = set(
        Token.objects.filter(access_token_digest__in=access).values_list("access_token_digest", flat=True)
    )
    stored_refresh = set(
        Token.objects.filter(refresh_token_digest__in=refresh).values_list("refresh_token_digest", flat=True)
    )
    total_rows = Token.objects.count()
    if stored_access != access:
        failures.append(f"{len(access - stored_access)} issued access tokens are missing from the database")
    if stored_refresh != refresh:
        failures.append(
            f"{len(refresh - stored_refresh)} issued refresh tokens are missing from the database"
        )
    if total_rows != len(access):
        failures.append(f"{total_rows} token rows for {len(access)} issuances")
    dead = {digest(value) for value in ledger.dead_access}
    still_active = Token.objects.filter(access_token_digest__in=dead, revoked_at__isnull=True).count()
    if still_active:
        failures.append(f"{still_active} revoked tokens are not revoked in the database")

    issued_events = AuditEvent.objects.filter(event_type=EventType.TOKEN_ISSUED)
    issued_ids = list(issued_events.values_list("token_id", flat=True))
    row_ids = set(Token.objects.values_list("pk", flat=True))
    if (
        len(issued_ids) != len(access)
        or set(issued_ids) != row_ids
        or len(set(issued_ids)) != len(issued_ids)
    ):
        failures.append(
            f"audit: {len(issued_ids)} token_issued events ({len(set(issued_ids))} distinct tokens) "
            f"for {len(access)} issuances"
        )
    revocation_events = AuditEvent.objects.filter(
        event_type__in=[EventType.TOKEN_REVOKED, EventType.TOKENS_REVOKED], actor_kind="client"
    ).count()
    if revocation_events != len(ledger.revocations):
        failures.append(
            f"audit: {revocation_events} revocation events for {len(ledger.revocations)} revocations"
        )
    counts = {
        "token_rows": total_rows,
        "issued_access_tokens": len(access),
        "issued_refresh_tokens": len(refresh),
        "revocation_calls": len(ledger.revocations),
        "tokens_revoked_in_db": Token.objects.filter(revoked_at__isnull=False).count(),
        "audit_token_issued": len(issued_ids),
        "audit_revocations": revocation_events,
        "audit_events_total": AuditEvent.objects.count(),
    }
    return counts, failures


def summarise(ledger, elapsed: float) -> dict:
    by_action: dict[str, dict] = {}
    for (action, status), count in sorted(ledger.statuses.items()):
        by_action.setdefault(action, {})[str(status)] = count
    latency = {
        action: {
            "p50_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(sorted(values)[int(len(values) * 0.95) - 1] * 1000, 1)
            if len(values) > 1
            else None,
            "count": len(values),
        }
        for action, values in ledger.latencies.items()
    }
    return {
        "requests": ledger.requests,
        "elapsed_s": round(elapsed, 1),
        "requests_per_s": round(ledger.requests / elapsed, 1) if elapsed else None,
        "status_by_action": by_action,
        "latency": latency,
        "server_errors": len(ledger.server_errors),
        "transport_errors": len(ledger.transport_errors),
        "mismatches": len(ledger.mismatches),
    }


def write_report(result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H%M")
    path = RESULTS / f"{stamp}-soak-postgresql.md"
    lines = [
        f"# Soak, {stamp} UTC ({'PASS' if result['passed'] else 'FAIL'})",
        "",
        f"`python -m bench.soak {' '.join(result['argv'])}`: {result['load']['requests']} requests in "
        f"{result['load']['elapsed_s']} s ({result['load']['requests_per_s']}/s), gunicorn "
        f"{result['gunicorn']}, PostgreSQL, {result['clients']} virtual clients.",
        "",
        "| Check | Result |",
        "| --- | --- |",
    ]
    for name, value in result["checks"].items():
        lines.append(f"| {name} | {value} |")
    lines += ["", "## Counts", "", "```json", json.dumps(result["counts"], indent=2), "```", ""]
    lines += [
        "## Status codes by action",
        "",
        "```json",
        json.dumps(result["load"]["status_by_action"], indent=2),
    ]
    lines += ["```", "", "## Latency", "", "```json", json.dumps(result["load"]["latency"], indent=2), "```"]
    if result["failures"]:
        lines += ["", "## Failures", ""] + [f"- {failure}" for failure in result["failures"][:50]]
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    return path


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
