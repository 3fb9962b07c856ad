"""What one protocol request costs in the worker, without load: CPU, database and Redis round trips.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench.request_cost \
        [--requests 2000] [--profile token] [--keep] [--database bench_request_cost]

Builds ours' production environment as `make bench` does (`bench.servers.server_env`: DEBUG off,
REDIS_URL, keys of its own), migrates and seeds a fresh `bench_*` database (a few thousand
tokens; without a PostgreSQL `DATABASE_URL`, a SQLite file under bench/work/, for a quick look
while PostgreSQL is busy), then calls the WSGI application directly (no server, no socket: what
gunicorn's worker runs per request) for each endpoint in turn and prints, per request: wall and
CPU time of this process, statements sent to PostgreSQL, commands sent to Redis, and with
PostgreSQL on this machine the CPU time of the worker's database backend (from /proc). A machine
shared with other work moves wall time; CPU time and round trips move much less, and are what a
change to the request path changes. `--instructions` counts instructions per request under
valgrind's callgrind instead (deterministic where CPU time is not; slow). `--profile token` (or
bearer, introspection, revocation, or a step of the OpenID sign-in) prints cProfile's top functions
of that endpoint by cumulative and own time. `--endpoints openid` measures the OpenID Connect
sign-in's three requests, one by one (`bench.openid_steps`).
"""

import argparse
import cProfile
import io
import os
import pstats
import secrets
import subprocess
import sys
import time
from pathlib import Path

from bench.openid_steps import BATCH, STEPS
from bench.wsgi_calls import call, respond, wsgi_environ

ENDPOINTS = ("token", "bearer", "introspection", "revocation")
# Names --endpoints takes for several endpoints.
GROUPS = {"openid": STEPS}


def environment(database: str) -> dict[str, str]:
    from bench import servers

    spec = servers.specs(18490)["ours"]
    spec.name = "ours-cost"
    env = servers.server_env(spec, database=database, secret_key=secrets.token_urlsafe(50), conn_max_age=60)
    return env


def seed(env: dict[str, str], tokens: int, consumables: int) -> dict:
    from bench import databases, servers

    spec = servers.specs(18490)["ours"]
    spec.name = "ours-cost"
    spec.setup = []  # no collectstatic/check: the WSGI app is called directly
    return databases.prepare(spec, env=env, tokens=tokens, consumables=consumables)


def requests(creds: dict, call):
    """endpoint -> a function giving the next request's (method, path, headers, body); `call`
    runs a request (the OpenID steps' inputs are made by the steps before them)."""
    from urllib.parse import urlencode

    from bench import openid_steps
    from bench.targets import CLIENT_CREDENTIALS_BODY, basic_auth

    common = {"Host": "127.0.0.1:18490", "X-Forwarded-Proto": "https"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cc = basic_auth(creds["cc"]["client_id"], creds["cc"]["client_secret"])
    app = basic_auth(creds["app"]["client_id"], creds["app"]["client_secret"])
    revocable = iter(Path(creds["revoke_file"]).read_text().split())
    introspect_body = urlencode({"token": creds["bearer_token"]}).encode()
    return {
        "token": lambda: (
            "POST",
            "/oauth/token",
            common | form | {"Authorization": cc},
            CLIENT_CREDENTIALS_BODY.encode(),
        ),
        "bearer": lambda: (
            "GET",
            "/api/me",
            common | {"Authorization": f"Bearer {creds['bearer_token']}"},
            b"",
        ),
        "introspection": lambda: (
            "POST",
            "/oauth/introspect",
            common | form | {"Authorization": app},
            introspect_body,
        ),
        "revocation": lambda: (
            "POST",
            "/oauth/revoke",
            common | form | {"Authorization": app},
            urlencode({"token": next(revocable), "token_type_hint": "access_token"}).encode(),
        ),
        **openid_steps.steps(creds, common["Host"], call),
    }


class Counting:
    """Counts statements (Django's execute wrapper), commits (each a BEGIN and a COMMIT round trip
    more on PostgreSQL, which the wrapper does not see) and Redis commands (the connection's
    sends)."""

    def __init__(self):
        self.statements = self.commits = self.redis = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)


def run_now(function, *args) -> None:
    function(*args)


def measure(application, next_request, count: int, counter: Counting, outside=None):
    """Per request: (wall, CPU, statements, commits, Redis commands). An endpoint whose inputs come from
    others (`supply`) gets them in batches, uncounted, each run through `outside` (callgrind's
    instrumentation off)."""
    wall = cpu = 0.0
    counter.statements = counter.commits = counter.redis = 0
    expected = getattr(next_request, "status", "200")
    supply = getattr(next_request, "supply", None)
    for done in range(count):
        if supply is not None and done % BATCH == 0:
            counted = counter.statements, counter.commits, counter.redis
            (outside or run_now)(supply, min(BATCH, count - done))
            counter.statements, counter.commits, counter.redis = counted
        request = next_request()
        environ = wsgi_environ(*request)
        w0, c0 = time.perf_counter(), time.process_time()
        status, headers, body = respond(application, environ)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        check = getattr(next_request, "check", None)
        wrong = check(dict(headers), body) if check else None
        if not status.startswith(expected) or wrong:
            raise SystemExit(f"{request[1]}: {status} {wrong or body[:300]!r}")
    per_request = (counter.statements / count, counter.commits / count, counter.redis / count)
    return wall / count, cpu / count, *per_request


def backend_cpu(connection) -> tuple[int, float] | None:
    """(pid, CPU seconds) of this connection's PostgreSQL backend, when the server runs on this
    machine (its /proc readable); None otherwise (SQLite, a remote server). Kernel ticks: 10 ms
    resolution, so read it over many requests."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return None
    pid = connection.connection.info.backend_pid
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_instructions(application, makers, chosen, count: int, counter) -> int:
    """Instructions per request of each endpoint: callgrind's instrumentation on around the
    requests only (not start-up or warm-up), its counts dumped and read back."""
    from bench.servers import WORK

    pid = str(os.getpid())

    def control(*options: str) -> None:
        subprocess.run(["callgrind_control", *options, pid], check=True, capture_output=True)

    # The warm-up's objects out of the collector's way: a full collection over them lands on
    # whichever request happens to trigger it (~1 ms), which would make counts vary by more than
    # a change's effect. Young collections still run as they would.
    import gc

    def uninstrumented(function, *args) -> None:
        control("-i", "off")
        function(*args)
        control("-i", "on")

    gc.collect()
    gc.freeze()
    for name in chosen:
        control("-i", "on")
        control("--zero")
        _, _, statements, commits, redis = measure(
            application, makers[name], count, counter, outside=uninstrumented
        )
        control(f"--dump={name}")
        control("-i", "off")
        dumps = sorted(WORK.glob(f"request-cost.callgrind.{pid}.*"), key=lambda path: path.stat().st_mtime)
        # The dump's costs summed ("totals:"), not its "summary:" header: after the authorization
        # endpoint that header came out at a fixed ~570M whatever the number of requests (and
        # negative at exit), where the totals grow with them and agree with the CPU time.
        totals = [line for line in dumps[-1].read_text().splitlines() if line.startswith("totals:")]
        instructions = int(totals[0].split()[1])
        print(
            f"{name:<16} {instructions / count / 1e6:8.3f} M instructions per request ({count} requests); "
            f"SQL {statements:.2f}, commits {commits:.2f}, Redis {redis:.2f}"
        )
    return 0


# Where a frame's file belongs, first match wins (as bench.profile's layers, finer).
LAYERS = (
    ("/server/oauth2/", "server.oauth2 (our adapter)"),
    ("/server/hotpath/", "server.hotpath (SQL, riders, ids)"),
    ("/server/ratelimit/", "server rate limiter"),
    ("/server/cache_round_trip", "server rate limiter"),
    ("/server/", "server (views, bindings, services)"),
    ("/oauth_console/audit/", "audit log"),
    ("/oauth_console/", "oauth_console (middleware, metrics)"),
    ("/authlib/", "authlib"),
    ("/csp/", "django-csp"),
    ("/django/db/", "django.db"),
    ("/django/", "django (request, response, middleware, signals)"),
    ("/psycopg/", "psycopg"),
    ("/redis/", "redis-py"),
    ("/prometheus_client/", "prometheus_client"),
    ("/whitenoise/", "whitenoise"),
)


def layers_table(stats: pstats.Stats) -> str:
    """Own CPU time per layer, as shares of the whole."""
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        layer = next((name for marker, name in LAYERS if marker in filename), "stdlib, builtins, C")
        totals[layer] = totals.get(layer, 0.0) + own
    whole = sum(totals.values()) or 1.0
    rows = sorted(totals.items(), key=lambda item: -item[1])
    return "\n".join(
        ["| layer | own CPU |", "| --- | --- |", *(f"| {n} | {t / whole:.1%} |" for n, t in rows)]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.request_cost")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=(*ENDPOINTS, *STEPS), default=None)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per request under valgrind's callgrind (slow; one round)",
    )
    parser.add_argument("--profile-out", default=None, help="also write the profile's pstats to this file")
    parser.add_argument(
        "--endpoints",
        default=",".join(ENDPOINTS),
        help=f"of {', '.join((*ENDPOINTS, *STEPS))}; openid: the three steps",
    )
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    parser.add_argument(
        "--database",
        default="bench_request_cost",
        help="the bench_* database to (re)create on DATABASE_URL's server (helpers: one of your own)",
    )
    args = parser.parse_args(argv)
    from bench.run import postgres_url

    if not args.database.startswith("bench_"):
        raise SystemExit("--database must start with bench_ (the bench only manages bench_* databases)")
    base = postgres_url()
    from urllib.parse import urlsplit, urlunsplit

    from bench.servers import WORK

    if base:
        database = urlunsplit(urlsplit(base)._replace(path=f"/{args.database}"))
    else:
        database = f"sqlite:///{WORK / f'{args.database}.sqlite3'}"
    creds_file = Path(__file__).resolve().parent / "work" / "ours-cost.json"
    env_file = creds_file.with_suffix(".env")
    if args.keep and creds_file.exists() and env_file.exists():
        import json

        env = json.loads(env_file.read_text())
        creds = json.loads(creds_file.read_text())
    else:
        import json

        env = environment(database)
        creds = seed(env, tokens=5000, consumables=args.requests * (args.rounds + 1) + 100)
        env_file.write_text(json.dumps(env))
    if os.environ.get("_REQUEST_COST_CHILD") != "1":
        # A process of its own with exactly the server's environment.
        child = {**env, "_REQUEST_COST_CHILD": "1"}
        argv_child = [sys.executable, "-m", "bench.request_cost", "--keep", *(argv or sys.argv[1:])]
        if args.instructions:
            # Instruction counts: deterministic where CPU time on a shared machine is not.
            # Valgrind starts with instrumentation off; the child turns it on around the
            # measured requests (`callgrind_control`).
            out = WORK / "request-cost.callgrind"
            argv_child = [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}.%p",
                *argv_child,
            ]
        return subprocess.call(argv_child, env=child, cwd=Path(__file__).resolve().parent.parent)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
    import django

    django.setup()
    from django.core.servers.basehttp import get_internal_wsgi_application
    from django.db import connection, connections
    from redis.connection import AbstractConnection

    # What gunicorn serves (settings.WSGI_APPLICATION, oauth_console.wsgi), as runserver finds it.
    application = get_internal_wsgi_application()
    counter = Counting()
    original_send = AbstractConnection.send_packed_command

    def send(self, command, check_health=True):
        counter.redis += 1
        return original_send(self, command, check_health)

    AbstractConnection.send_packed_command = send
    wrapper = type(connections["default"])
    original_commit = wrapper._commit

    def commit(self):
        counter.commits += 1
        return original_commit(self)

    wrapper._commit = commit
    makers = requests(creds, lambda request: call(application, request))
    chosen = [step for name in args.endpoints.split(",") if name for step in GROUPS.get(name, (name,))]
    with connection.execute_wrapper(counter):
        for name in chosen:  # warm-up: imports, prepared statements, marks
            measure(application, makers[name], 50, counter)
        if args.instructions:
            return count_instructions(application, makers, chosen, args.requests, counter)
        results = {name: [] for name in chosen}
        backend = {name: [] for name in chosen}
        supplying = [0.0]  # the backend's CPU making the OpenID steps' inputs: not their cost

        def unmeasured(function, *args) -> None:
            before = backend_cpu(connection)
            function(*args)
            after = backend_cpu(connection)
            supplying[0] += after[1] - before[1] if before and after else 0.0

        for _ in range(args.rounds):
            for name in chosen:
                supplying[0] = 0.0
                before = backend_cpu(connection)
                results[name].append(
                    measure(application, makers[name], args.requests, counter, outside=unmeasured)
                )
                after = backend_cpu(connection)
                if before and after and before[0] == after[0]:  # the same backend throughout
                    backend[name].append((after[1] - before[1] - supplying[0]) / args.requests)
        header = f"{'endpoint':<16} {'wall ms':>8} {'cpu ms':>8} {'SQL':>5} {'Tx':>5} {'Redis':>6}"
        header += f" {'PG cpu ms':>10}"
        print(f"{header}  (median of {args.rounds} rounds of {args.requests})")
        for name in chosen:
            rows = sorted(results[name], key=lambda r: r[1])
            wall = sorted(r[0] for r in results[name])[len(rows) // 2]
            cpu = rows[len(rows) // 2][1]
            pg = sorted(backend[name])
            pg_text = f"{pg[len(pg) // 2] * 1000:10.3f}" if pg else f"{'-':>10}"
            counts = f"{rows[0][2]:5.2f} {rows[0][3]:5.2f} {rows[0][4]:6.2f}"
            print(f"{name:<16} {wall * 1000:8.3f} {cpu * 1000:8.3f} {counts} {pg_text}")
        if args.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU: waiting on a socket is not cost

            def unprofiled(function, *args) -> None:
                profiler.disable()
                function(*args)
                profiler.enable()

            profiler.enable()
            measure(application, makers[args.profile], args.requests, counter, outside=unprofiled)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            if args.profile_out:
                stats.dump_stats(args.profile_out)
            print(layers_table(stats))
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
