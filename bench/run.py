"""`make bench`: oauth-console against django-oauth-toolkit and bare Django, on this machine.

    python -m bench.run [--rounds 5] [--duration 5] [--scenarios bearer,client_credentials]

Builds the reference virtualenvs, migrates and seeds a fresh database per server (SQLite under
bench/work/, or bench_* databases on the PostgreSQL server of DATABASE_URL) and ANALYZEs it,
starts every server under gunicorn on 127.0.0.1 (ours as in production: Redis, docs/deployment.md;
a second instance of ours with the local-memory cache as a secondary line; the references at
their own defaults), drives them with wrk in interleaved rounds, stops them, and writes
bench/results/<date>-<database>.md, .png and .json.
"""

import argparse
import json
import os
import platform
import random
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench import databases, lua, processes, report, scenarios, servers, targets, wrk
from bench.stats import Measurement

RESULTS = servers.BENCH / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--duration", type=float, default=5, help="seconds per burst (default 5)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per target (default 2)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default 2)")
    parser.add_argument(
        "--worker-class",
        choices=["sync", "gthread"],
        default="sync",
        help="gunicorn worker class: sync closes each connection, gthread (1 thread) keeps it alive",
    )
    parser.add_argument("--conn-max-age", type=int, default=60, help="CONN_MAX_AGE of every server")
    parser.add_argument("--tokens", type=int, default=100_000, help="tokens seeded per server")
    parser.add_argument(
        "--consumables",
        type=int,
        default=50_000,
        help="pre-issued tokens per spending scenario (both instances of ours spend them)",
    )
    parser.add_argument("--base-port", type=int, default=18401, help="first of four loopback ports")
    parser.add_argument(
        "--db-prefix",
        default="",
        help="databases bench_<prefix>ours, ... instead of bench_ours, ... (another bench on the same "
        "PostgreSQL server keeps its own)",
    )
    parser.add_argument(
        "--no-local-memory",
        dest="local_memory",
        action="store_false",
        help="skip the secondary line (ours with the local-memory cache)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a checkout of ours from before a change (`git worktree add`, `git archive`): measured in "
        "the secondary line's place, in production (Redis) on ours' database, in the same rounds",
    )
    parser.add_argument("--scenarios", default="", help="comma-separated subset of scenario keys")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the round order")
    parser.add_argument("--keep-databases", action="store_true", help="keep the bench_* PostgreSQL databases")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where results go")
    return parser.parse_args(argv)


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def probe(target: targets.Target, host: str) -> str | None:
    """One request of a fixed target; a description of what went wrong, or None if it answered
    as expected. (Spending targets are not probed: a probe would spend a credential.)"""
    if target.template != "fixed_request":
        return None
    params = target.params
    body = params["BODY"].encode() if params["BODY"] is not None else None
    request = urllib.request.Request(
        f"http://{host}{params['PATH']}", data=body, method=params["METHOD"], headers=params["HEADERS"]
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read(400).decode(errors="replace")
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read(400).decode(errors="replace")
    if status != params["EXPECTED_STATUS"]:
        return f"{target.label}: expected {params['EXPECTED_STATUS']}, got {status}: {text}"
    return None


class Driver:
    """Runs bursts, and keeps each credential file's read position so nothing is spent twice."""

    def __init__(self, args: argparse.Namespace, hosts: dict[str, str]):
        self.args = args
        self.hosts = hosts
        self.offsets: dict[Path, int] = {}
        self.scripts = servers.WORK / "lua"

    def burst(self, scenario: scenarios.Scenario, target: targets.Target, duration: float):
        params = dict(target.params)
        if target.token_file is not None:
            params["OFFSET"] = self.offsets.get(target.token_file, 0)
            params["THREADS"] = self.args.threads
        script = lua.write(
            self.scripts / f"{scenario.key}-{target.name}.lua",
            target.template,
            params,
            title=f"{scenario.key} / {target.label}",
        )
        result = wrk.run(
            f"http://{self.hosts[target.server]}{target.url_path}",
            script,
            duration_s=duration,
            connections=self.args.connections,
            threads=self.args.threads,
        )
        processes.settle(self.hosts[target.server])
        if result.bad_sample:
            servers.log(f"{scenario.key}/{target.name}: {result.bad} unexpected, e.g. {result.bad_sample}")
        if target.token_file is not None:
            # Thread i takes lines OFFSET+i, OFFSET+i+THREADS, ...: the busiest thread says how
            # far the burst reached (threads are rarely even). Requests still in flight when wrk
            # stopped may have spent a credential too.
            reached = max(result.used_max * self.args.threads, result.requests)
            spent = params["OFFSET"] + reached + 2 * self.args.connections
            self.offsets[target.token_file] = spent
            available = sum(1 for _ in target.token_file.open())
            if spent > available:
                servers.log(
                    f"warning: {target.token_file.name} ran out ({spent} > {available}); raise --consumables"
                )
        return result

    def measure(self, scenario: scenarios.Scenario, rng: random.Random) -> list[Measurement]:
        """Warm every target up, then run the rounds, each in a new shuffled order."""
        for target in scenario.targets:
            problem = probe(target, self.hosts[target.server])
            if problem:
                servers.log(f"warning: {scenario.key}: {problem}")
            self.burst(scenario, target, self.args.warmup)
        measured = []
        for round_number in range(1, self.args.rounds + 1):
            order = list(scenario.targets)
            rng.shuffle(order)
            for target in order:
                result = self.burst(scenario, target, self.args.duration)
                duration_s = result.duration_us / 1e6
                measurement = Measurement(
                    target=report.key(scenario, target.name),
                    round=round_number,
                    operations=result.operations,
                    requests=result.requests,
                    duration_s=duration_s,
                    errors=result.errors,
                    p50_ms=result.p50_us / 1000,
                    p99_ms=result.p99_us / 1000,
                )
                measured.append(measurement)
                servers.log(
                    f"{scenario.key} round {round_number}/{self.args.rounds} {target.name}: "
                    f"{measurement.rate:,.1f} {scenario.unit}, p50 {measurement.p50_ms:.1f} ms, "
                    f"errors {measurement.errors}"
                )
        return measured


def git_commit(where: Path | None = None) -> str:
    """The short commit of the checkout at `where` (ours by default); for a copy without git
    (`git archive`), its folder's name."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=where or servers.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return where.name if where is not None else "unknown"


def database_label(url: str | None) -> str:
    if not url:
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version} (WAL)"
    try:
        with databases.admin_connect(url) as connection:
            version = connection.execute("SHOW server_version").fetchone()[0]
        return f"PostgreSQL {version}"
    except Exception:
        return "PostgreSQL"


def write_results(
    args, scenario_list, measurements, meta: dict, *, backend: str, stamp: str
) -> tuple[Path, Path]:
    """Write the page, the chart and the raw rounds; refresh the results index."""
    args.output.mkdir(parents=True, exist_ok=True)
    base = f"{stamp}-{backend}"
    chart = report.render_chart(scenario_list, measurements, args.output / f"{base}.png")
    page = args.output / f"{base}.md"
    page.write_text(report.render_markdown(scenario_list, measurements, meta, chart.name))
    raw = {"meta": meta, "measurements": [m.to_dict() for m in measurements]}
    (args.output / f"{base}.json").write_text(json.dumps(raw, indent=1))
    write_index(args.output)
    return page, chart


def write_index(folder: Path) -> None:
    """bench/results/README.md: every results page, newest first (the README links here)."""
    pages = sorted((p for p in folder.glob("*.md") if p.name != "README.md"), reverse=True)
    kinds = ("-scale-", "-scaleout", "-profile-", "-soak-")
    groups = (
        ("Throughput against the references (`make bench`)", lambda p: not any(k in p.name for k in kinds)),
        ("Console and bulk work at scale (`python -m bench.scale`)", lambda p: "-scale-" in p.name),
        (
            "Scale-out: two instances, one PostgreSQL, one Redis (`python -m bench.scaleout`)",
            lambda p: "-scaleout" in p.name,
        ),
        ("Profiles of the hot paths (`python -m bench.profile`)", lambda p: "-profile-" in p.name),
        ("Soak runs (bench/soak)", lambda p: "-soak-" in p.name),
    )
    lines = [
        "# Benchmark results",
        "",
        "Newest first. How they are made: [bench/README.md](../README.md).",
        "",
    ]
    for title, wanted in groups:
        chosen = [p for p in pages if wanted(p)]
        if chosen:
            lines += [f"## {title}", "", *(f"- [{p.stem}]({p.name})" for p in chosen), ""]
    (folder / "README.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk.find_wrk()
    pg = postgres_url()
    backend = "postgresql" if pg else "sqlite"
    started = time.monotonic()
    problem = servers.check_redis(servers.REDIS_URL)
    if problem:
        raise SystemExit(
            f"make bench measures production, which needs Redis at {servers.REDIS_URL} "
            f"(BENCH_REDIS_URL to use another): {problem}"
        )
    if args.before is not None:
        args.local_memory = True  # the secondary slot measures the earlier checkout instead
        targets.SERVER_LABELS[targets.OURS_LOCAL] = f"oauth-console before ({git_commit(args.before)})"
    all_specs = servers.specs(args.base_port, local_memory=args.local_memory, before=args.before)
    for spec in all_specs.values():
        servers.ensure_venv(spec)

    # One key per run, shared by each server's seed step and its gunicorn (digests must agree).
    secret_key = secrets.token_urlsafe(50)
    envs = {
        name: servers.server_env(
            spec,
            database=databases.database_url(spec, pg, args.db_prefix),
            secret_key=secret_key,
            conn_max_age=args.conn_max_age,
        )
        for name, spec in all_specs.items()
    }
    try:
        creds = {}
        for name, spec in all_specs.items():
            if spec.shares:
                creds[name] = creds[spec.shares]  # the same database and credentials
                continue
            servers.log(f"{name}: fresh database, migrate, seed {args.tokens:,} tokens, ANALYZE")
            creds[name] = databases.prepare(
                spec, env=envs[name], tokens=args.tokens, consumables=args.consumables
            )
        scenario_list = scenarios.build(
            creds,
            {name: spec.host for name, spec in all_specs.items()},
            secondary_label=targets.SERVER_LABELS[targets.OURS_LOCAL] if args.before else None,
        )
        if args.scenarios:
            wanted = {key.strip() for key in args.scenarios.split(",") if key.strip()}
            unknown = wanted - {s.key for s in scenario_list}
            if unknown:
                raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
            scenario_list = [s for s in scenario_list if s.key in wanted]

        rng = random.Random(args.seed)
        measurements: list[Measurement] = []
        with processes.running(
            [(all_specs[n], envs[n]) for n in all_specs], workers=args.workers, worker_class=args.worker_class
        ):
            driver = Driver(args, {name: spec.host for name, spec in all_specs.items()})
            for scenario in scenario_list:
                servers.log(f"scenario {scenario.key}: {scenario.title}")
                measurements += driver.measure(scenario, rng)
    finally:
        if pg and not args.keep_databases:
            for env in {env["DATABASE_URL"]: env for env in envs.values()}.values():
                databases.drop_database(env["DATABASE_URL"])
        servers.forget_cache_keys(servers.REDIS_URL, envs["ours"]["CACHE_KEY_PREFIX"])

    now = datetime.now(UTC)
    meta = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "database": database_label(pg),
        "commit": git_commit(),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}",
        "servers": f"gunicorn, {args.workers} {args.worker_class} workers each, "
        f"CONN_MAX_AGE={args.conn_max_age}, "
        "DEBUG off, proxy-SSL header trusted (wrk sends X-Forwarded-Proto: https)",
        "oauth-console (production)": "exactly the environment of docs/deployment.md: DEBUG=0, "
        f"REDIS_URL (Redis {servers.REDIS_URL.rsplit('/', 1)[0].removeprefix('redis://')}, "
        f"database {servers.REDIS_URL.rsplit('/', 1)[1]}, a key prefix per run), SECRET_KEY, "
        "OAUTH2_CREDENTIAL_KEY and AUDIT_HASH_KEY each its own, OAUTH2_ISSUER, ALLOWED_HOSTS, "
        "SECURE_PROXY_SSL_HEADER=1, SECURE_SSL_REDIRECT=1, CONN_MAX_AGE=60, DB_HEALTH_CHECK_AFTER_IDLE="
        f"{os.environ.get('DB_HEALTH_CHECK_AFTER_IDLE', '5')}, OAUTH2_PREPARED_STATEMENTS on; "
        "`manage.py check --deploy --fail-level WARNING` passes before the run; "
        "AUDIT_PROXY_COUNT 0 (wrk connects directly, no proxy in between)",
        "oauth-console, local-memory cache": (
            f"not measured: the secondary line is ours before the change ({args.before}, commit "
            f"{git_commit(args.before)}), in production (Redis) on ours' database, in the same rounds"
            if args.before
            else "the secondary line: a second instance of ours on the same database, with "
            "CACHE_URL=locmem:// (rate limits and lockouts per worker process: not for production)"
            if args.local_memory
            else "not measured (--no-local-memory)"
        ),
        "load": f"wrk, {args.threads} threads, {args.connections} connections, {args.duration:g}s bursts, "
        f"{args.rounds} interleaved rounds, {args.warmup:g}s warm-up per target",
        "data": f"{creds['ours']['tokens']:,} tokens (oauth-console), "
        f"{creds['dot']['tokens']:,} access tokens (django-oauth-toolkit), "
        f"{creds['bare']['rows']:,} rows (bare); every database ANALYZEd after seeding "
        "(VACUUM ANALYZE on PostgreSQL, ANALYZE on SQLite), before any server starts",
        "references": "at their own defaults, as their users run them: django-oauth-toolkit 3.4.1 with its "
        "default settings (OAUTH2_PROVIDER declares only the scopes), its clients with "
        "hash_client_secret=False except the one client with the default PBKDF2-hashed secret; bare "
        "Django 5.2.19; both with Django's defaults (no CONN_HEALTH_CHECKS, local-memory cache) "
        "and Django's standard middleware (security, whitenoise, sessions, common, CSRF, auth, messages, "
        "clickjacking), which oauth-console runs too, except sessions, auth and messages on its machine "
        "endpoints (server/machine_endpoints.py)",
        "oauth-console audit log": "on in both instances (every token issued and revoked is an audit event; "
        "a client's authentication that issues nothing, and a token's use, once per AUDIT_*_INTERVAL)",
        "database health checks": "oauth-console checks a persistent connection only after "
        f"{os.environ.get('DB_HEALTH_CHECK_AFTER_IDLE', '5')} s idle (its default, "
        "DB_HEALTH_CHECK_AFTER_IDLE); the references not at all (Django's default)",
        "oauth-console rate limits": "on, counted in Redis (production) or local memory, with the protocol "
        "limits raised out of reach (one load generator on one address would trip them)",
        "wall time": f"{time.monotonic() - started:.0f}s",
    }
    page, chart = write_results(
        args, scenario_list, measurements, meta, backend=backend, stamp=now.strftime("%Y-%m-%d")
    )
    print()
    print(report.results_table(scenario_list, measurements))
    print()
    print(report.production_table(scenario_list, measurements))
    print()
    print(report.goals_table(scenario_list, measurements))
    print(f"\nWritten: {page} and {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
