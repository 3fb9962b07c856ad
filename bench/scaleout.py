"""Scale-out proof: two instances of ours, one PostgreSQL database, one Redis, no stale answers.

    python -m bench.scaleout [--rounds 50] [--duration 10] [--keep-database] [--no-pooler]

Starts two gunicorn instances (production settings, as `make bench`) on loopback ports against
the same database (`bench_scaleout`, created and dropped here) through PgBouncer in transaction
mode (started here on a loopback port, `bench.pooler`; configured as docs/deployment.md says)
and Redis (db 14), with the same SECRET_KEY, OAUTH2_CREDENTIAL_KEY and AUDIT_HASH_KEY. Each
round issues a token on A, uses it on B, revokes it on B and immediately asks A, which must say
401 and `active: false`. Then a split load (requests alternating A/B) must see no 5xx. Writes
bench/results/<date>-scaleout.md.
"""

import argparse
import base64
import contextlib
import dataclasses
import datetime
import json
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

from bench import databases, pooler, processes, servers

RESULTS = servers.BENCH / "results"
DATABASE = "postgres://postgres@127.0.0.1:5432/bench_scaleout"
REDIS = "redis://127.0.0.1:6379/14"


@dataclasses.dataclass
class Reply:
    status: int
    body: dict | None


def request(host: str, path: str, *, form: dict | None = None, headers: dict | None = None) -> Reply:
    """One HTTP request through the 'proxy' (X-Forwarded-Proto: https); never raises on 4xx/5xx."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(f"http://{host}{path}", data=data, method="POST" if form else "GET")
    req.add_header("X-Forwarded-Proto", "https")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return Reply(status, body if isinstance(body, dict) else None)


def basic(client_id: str, client_secret: str) -> dict[str, str]:
    """client_secret_basic (RFC 6749 §2.3.1: form-encode, then base64)."""
    pair = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def issue(host: str, auth: dict) -> str:
    """A client_credentials token from `host`; fails loudly if none comes back."""
    reply = request(
        host, "/oauth/token", form={"grant_type": "client_credentials", "scope": "profile"}, headers=auth
    )
    if reply.status != 200 or not reply.body or "access_token" not in reply.body:
        raise RuntimeError(f"token on {host}: {reply.status} {reply.body}")
    return reply.body["access_token"]


def cross_round(a: str, b: str, auth: dict) -> dict[str, bool]:
    """Issue on A, use on B, revoke on B, then A must refuse at once. Returns each check's outcome."""
    token = issue(a, auth)
    bearer = {"Authorization": f"Bearer {token}"}
    checks = {
        "valid on B": request(b, "/api/me", headers=bearer).status == 200,
        "active on A": (request(a, "/oauth/introspect", form={"token": token}, headers=auth).body or {}).get(
            "active"
        )
        is True,
        "revoked on B": request(b, "/oauth/revoke", form={"token": token}, headers=auth).status == 200,
    }
    # No pause: the very next request, on the other instance, must already see the revocation.
    checks["401 on A"] = request(a, "/api/me", headers=bearer).status == 401
    introspected = request(a, "/oauth/introspect", form={"token": token}, headers=auth)
    checks["inactive on A"] = introspected.status == 200 and (introspected.body or {}).get("active") is False
    checks["401 on B"] = request(b, "/api/me", headers=bearer).status == 401
    return checks


def split_load(hosts: list[str], auth: dict, *, duration: float, threads: int) -> dict[str, Counter]:
    """Alternate bearer GETs and token POSTs across the hosts; count statuses per host."""
    token = issue(hosts[0], auth)
    counts = {host: Counter() for host in hosts}
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker(offset: int) -> None:
        index = offset
        while time.monotonic() < stop_at:
            host = hosts[index % len(hosts)]
            if index % 4 == 3:
                status = request(
                    host,
                    "/oauth/token",
                    form={"grant_type": "client_credentials", "scope": "read"},
                    headers=auth,
                ).status
            else:
                status = request(host, "/api/me", headers={"Authorization": f"Bearer {token}"}).status
            with lock:
                counts[host][status] += 1
            index += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return counts


def audit_check(env: dict[str, str]) -> str:
    """Seal and verify the shared audit log; return a one-line verdict with the event count."""

    def manage(*command: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=servers.ROOT,
            env=env | extra,
            capture_output=True,
            text=True,
        )

    # A delay of 0 seals up to the newest event, so the verification covers every one of them.
    seal = manage("seal_audit_log", AUDIT_CHECKPOINT_DELAY="0")
    verify = manage("verify_audit_log")
    count = manage(
        "shell",
        "--no-imports",
        "-c",
        "from oauth_console.audit.models import AuditEvent; print(AuditEvent.objects.count())",
    )
    verdict = "verifies" if seal.returncode == 0 and verify.returncode == 0 else "FAILS"
    events = (count.stdout.strip().splitlines() or ["?"])[-1]
    detail = (verify.stdout + verify.stderr).strip().splitlines()
    return (
        f"{verdict} ({events} events; verify_audit_log: {detail[-1].rstrip('.') if detail else 'no output'})"
    )


def render(
    *,
    rounds: int,
    checks: Counter,
    failures: list[str],
    load: dict[str, Counter],
    duration: float,
    hosts: dict,
    audit: str,
    database: str = "directly (no pooler)",
) -> str:
    """The result page: the cross-instance checks and the split load."""
    lines = [
        f"# Scale-out: two instances, one PostgreSQL, one Redis ({datetime.date.today().isoformat()})",
        "",
        "`python -m bench.scaleout`: two gunicorn instances of ours (2 sync workers each, production",
        "settings: DEBUG=0, generated SECRET_KEY, the same OAUTH2_CREDENTIAL_KEY and AUDIT_HASH_KEY,",
        f"SECURE_PROXY_SSL_HEADER=1) on {hosts['A']} (A) and {hosts['B']} (B), one PostgreSQL database",
        "and one Redis. How to deploy it: [docs/deployment.md](../../docs/deployment.md).",
        "",
        f"The database is reached {database}.",
        "",
        f"## Cross-instance checks ({rounds} rounds; each a new token)",
        "",
        "In a check, A is the instance that issued the token and B the other one; odd rounds issue",
        "on the first instance, even rounds on the second, so both directions are covered. The",
        "checks after the revocation run immediately, with no pause.",
        "",
        "| Check | Passed |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {passed}/{rounds} |" for name, passed in checks.items()]
    lines += ["", "Failures: " + ("; ".join(failures[:10]) if failures else "none"), ""]
    lines += [
        f"## Split load ({duration:.0f} s, requests alternating A/B, 3 bearer GETs : 1 token POST)",
        "",
        "The load comes from Python threads on the same 2-core machine, so req/s here shows that both",
        "instances served an even share, not how fast they are (that is `make bench`, with wrk).",
        "",
        "| Instance | Requests | req/s | 2xx | 4xx | 5xx |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, host in hosts.items():
        counter = load[host]
        total = sum(counter.values())
        by_class = Counter()
        for status, n in counter.items():
            by_class[f"{status // 100}xx"] += n
        classes = " | ".join(str(by_class[name]) for name in ("2xx", "4xx", "5xx"))
        lines.append(f"| {label} | {total} | {total / duration:.0f} | {classes} |")
    lines += ["", f"Audit log after both instances stopped (SIGTERM): {audit}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of split load")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--base-port", type=int, default=18451)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--pooler-port", type=int, default=16432, help="PgBouncer's loopback port")
    parser.add_argument(
        "--no-pooler", dest="pooler", action="store_false", help="connect the instances to PostgreSQL itself"
    )
    args = parser.parse_args()

    base = servers.specs(args.base_port)["ours"]
    spec_a = dataclasses.replace(base, name="scaleout-a", port=args.base_port)
    spec_b = dataclasses.replace(base, name="scaleout-b", port=args.base_port + 1)
    shared = {
        # One key set for the whole deployment, as docs/deployment.md asks.
        "OAUTH2_CREDENTIAL_KEY": secrets.token_urlsafe(32),
        "AUDIT_HASH_KEY": secrets.token_urlsafe(32),
        "REDIS_URL": REDIS,
        # A prefix of this run's own, so nothing from an earlier run (or anyone else) is read.
        "CACHE_KEY_PREFIX": f"bench-scaleout-{secrets.token_hex(4)}",
        "OAUTH2_ISSUER": "https://127.0.0.1",
    }
    secret_key = secrets.token_urlsafe(50)
    env = servers.server_env(base, database=DATABASE, secret_key=secret_key, conn_max_age=60) | shared
    database = "directly (no pooler)"
    try:
        with contextlib.ExitStack() as stack:
            # Migrate and seed straight on PostgreSQL, as a deploy step would; serve through the pooler.
            servers.log("bench_scaleout: fresh database, migrate, collectstatic, seed")
            creds = databases.prepare(spec_a, env=env, tokens=1000, consumables=10)
            if args.pooler:
                bouncer = stack.enter_context(pooler.running("bench_scaleout", port=args.pooler_port))
                env = env | {"DATABASE_URL": bouncer.url(DATABASE)} | bouncer.django_env()
                database = f"through {bouncer.describe()}"
            auth = basic(creds["cc"]["client_id"], creds["cc"]["client_secret"])
            with processes.running([(spec_a, env), (spec_b, env)], workers=2):
                a, b = spec_a.host, spec_b.host
                checks: Counter = Counter()
                failures: list[str] = []
                for number in range(args.rounds):
                    outcome = cross_round(a, b, auth) if number % 2 == 0 else cross_round(b, a, auth)
                    # Odd rounds swap the roles, so both directions are shown.
                    for name, passed in outcome.items():
                        checks[name] += passed
                        if not passed:
                            failures.append(f"round {number + 1}: {name}")
                servers.log(f"split load: {args.duration:.0f}s, {args.threads} threads, alternating A/B")
                load = split_load([a, b], auth, duration=args.duration, threads=args.threads)
            # Both instances are stopped now (SIGTERM): their write-behind queues must have been
            # flushed, and the chain both wrote with the one AUDIT_HASH_KEY must verify (the
            # commands, too, through the pooler).
            audit = audit_check(env)
        if args.pooler:
            database += f"; {pooler.traffic()}"
    finally:
        if not args.keep_database:
            databases.drop_database(DATABASE)
        servers.forget_cache_keys(REDIS, shared["CACHE_KEY_PREFIX"])
    page = render(
        rounds=args.rounds,
        checks=checks,
        failures=failures,
        load=load,
        duration=args.duration,
        hosts={"A": a, "B": b},
        audit=audit,
        database=database,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{datetime.date.today().isoformat()}-scaleout.md"
    out.write_text(page)
    print(page)
    servers.log(f"wrote {Path(out).relative_to(servers.ROOT)}")
    server_errors = sum(n for counter in load.values() for status, n in counter.items() if status >= 500)
    if failures or server_errors or not audit.startswith("verifies"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
