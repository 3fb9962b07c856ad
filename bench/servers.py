"""The servers under test: their virtualenvs, databases, seeding, and gunicorn processes.

Every server gets a fresh database, the same worker count and CONN_MAX_AGE, production
settings (DEBUG off, the proxy-SSL header trusted so loopback HTTP counts as HTTPS), and runs
in its own process group, so `stop` ends it and every worker it forked. Ours runs as
docs/deployment.md prescribes (Redis, keys of their own, `check --deploy` clean, one task worker
`manage.py db_worker` beside gunicorn, in its process group: the audit seals the requests queue
run there, on the same machine, during the measurement); a second instance of ours on the same
database with the local-memory cache is the secondary line.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENVS = BENCH / ".venvs"
WORK = BENCH / "work"
REFERENCES = BENCH / "references"


@dataclass
class ServerSpec:
    """How to install, migrate, seed and run one server."""

    name: str  # "ours", "dot", "bare"
    project_dir: Path
    wsgi: str
    python: Path
    migrate: list[str]
    seed: list[str]  # `{out}` is replaced by the JSON file the seed step writes
    setup: list[list[str]] = field(default_factory=list)  # more steps after migrate
    requirements: Path | None = None  # a reference's own virtualenv, built from this
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    shares: str = ""  # another server's name: run on its database and seed, prepare nothing
    worker: list[str] = field(default_factory=list)  # a task worker run beside gunicorn (ours)

    @property
    def database_name(self) -> str:
        return self.shares or self.name

    @property
    def gunicorn(self) -> Path:
        return self.python.parent / "gunicorn"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


# The rate limiter stays on (its cost per request is part of ours), but one load generator on
# one address would trip the per-address and per-client limits within a second, and the
# references have no such limits; so they are raised out of reach.
BENCH_RATE_LIMITS = {
    f"OAUTH2_RATE_LIMIT_{name}": "1000000000/60"
    for name in (
        "TOKEN_IP",
        "TOKEN_CLIENT",
        "INTROSPECT_IP",
        "INTROSPECT_CLIENT",
        "REVOKE_IP",
        "REVOKE_CLIENT",
    )
}


# Redis of `make bench` (and bench.profile): a database number of its own (bench.scaleout uses
# 14); every run uses a key prefix of its own.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")

# docs/deployment.md's environment, beyond what every server gets (server_env): the shared
# cache, HTTPS enforced (wrk's X-Forwarded-Proto makes loopback HTTP count as HTTPS), and the
# credential and audit keys set on their own (server_env derives them per run).
PRODUCTION = {"REDIS_URL": REDIS_URL, "SECURE_SSL_REDIRECT": "1"}
LOCAL_MEMORY = {"CACHE_URL": "locmem://", "SECURE_SSL_REDIRECT": "1"}


OURS_WSGI = "oauth_console.wsgi:application"


def specs(base_port: int, *, local_memory: bool = False, before: Path | None = None) -> dict[str, ServerSpec]:
    """The servers, on consecutive loopback ports from `base_port`: ours (production, Redis),
    django-oauth-toolkit, bare Django, and with `local_memory` ours again on ours' database
    with the local-memory cache, or with `before` the checkout there, in production."""
    ours_python = Path(sys.executable)
    found = {
        "ours": ServerSpec(
            name="ours",
            project_dir=ROOT,
            wsgi=OURS_WSGI,
            python=ours_python,
            migrate=["manage.py", "migrate", "--no-input"],
            seed=["-m", "bench.seed_ours", "--out", "{out}"],
            setup=[
                # As in production: the manifest static storage needs collected files.
                ["manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
                # The environment is docs/deployment.md's: no deployment warning at all.
                ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            ],
            port=base_port,
            env=BENCH_RATE_LIMITS | PRODUCTION,
            # As in production (docs/deployment.md, "The task worker"): the audit log's periodic
            # seals, queued by the requests, cost CPU here while the load runs.
            worker=["manage.py", "db_worker", "--queue-name", "*", "--no-reload"],
        ),
        "dot": ServerSpec(
            name="dot",
            project_dir=REFERENCES / "dot_project",
            wsgi="wsgi:application",
            python=VENVS / "dot" / "bin" / "python",
            migrate=["manage.py", "migrate", "--no-input"],
            seed=["seed.py", "--out", "{out}"],
            requirements=REFERENCES / "dot_project" / "requirements.txt",
            port=base_port + 1,
        ),
        "bare": ServerSpec(
            name="bare",
            project_dir=REFERENCES / "bare_project",
            wsgi="wsgi:application",
            python=VENVS / "bare" / "bin" / "python",
            migrate=["manage.py", "migrate", "--no-input", "--run-syncdb"],
            seed=["seed.py", "--out", "{out}"],
            requirements=REFERENCES / "bare_project" / "requirements.txt",
            port=base_port + 2,
        ),
    }
    if local_memory:
        ours = found["ours"]
        found["ours-local"] = ServerSpec(
            name="ours-local",
            project_dir=before or ours.project_dir,
            wsgi=ours.wsgi,
            python=ours.python,
            migrate=[],
            seed=[],
            port=base_port + 3,
            # The earlier checkout runs as ours does: production (Redis), the same database.
            env=BENCH_RATE_LIMITS | (PRODUCTION if before else LOCAL_MEMORY),
            shares="ours",
        )
    return found


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- virtualenvs -------------------------------------------------------------------------------


def ensure_venv(spec: ServerSpec) -> None:
    """Build the reference's virtualenv from its pinned requirements (once per requirements)."""
    if spec.requirements is None:
        return
    venv = spec.python.parent.parent
    stamp = venv / ".requirements.sha256"
    wanted = hashlib.sha256(spec.requirements.read_bytes()).hexdigest()
    if spec.python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return
    log(f"installing the {spec.name} reference into {venv.relative_to(ROOT)} (pinned, from PyPI)")
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(spec.python), "-m", "pip", "install", "--quiet", "-r", str(spec.requirements)], check=True
    )
    stamp.write_text(wanted)


# --- databases ---------------------------------------------------------------------------------


def database_url(spec: ServerSpec, postgres_url: str | None, prefix: str = "") -> str:
    """A fresh database's URL: a SQLite file under bench/work/, or bench_<prefix><name> on
    PostgreSQL (`prefix`: another bench on the same server keeps its databases)."""
    if not re.fullmatch(r"[a-z0-9_]*", prefix):
        raise ValueError(f"a database prefix is lower-case letters, digits and _, not {prefix!r}")
    if not postgres_url:
        return f"sqlite:///{WORK / f'{prefix}{spec.database_name}.sqlite3'}"
    parts = urlsplit(postgres_url)
    return urlunsplit(parts._replace(path=f"/bench_{prefix}{spec.database_name}"))


def admin_connect(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


def recreate_database(url: str) -> None:
    """Start from an empty database (drop the SQLite file, or DROP/CREATE on PostgreSQL)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("bench_"):
        raise ValueError(f"refusing to recreate {name!r}: the bench only manages bench_* databases")
    with admin_connect(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    """Drop a PostgreSQL bench database (SQLite files stay in bench/work/ for inspection)."""
    if url.startswith("sqlite:///"):
        return
    name = urlsplit(url).path.lstrip("/")
    if name.startswith("bench_"):
        with admin_connect(url) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def analyze(url: str) -> None:
    """Refresh the planner's statistics after the bulk load, as an operator would."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute("ANALYZE")
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


# --- preparing and running ----------------------------------------------------------------------


def server_env(spec: ServerSpec, *, database: str, secret_key: str, conn_max_age: int) -> dict[str, str]:
    """Production settings, the same for every server."""
    # The caller's cache settings are not inherited: each server's spec says which cache it has.
    ignored = {"DATABASE_URL", "DEBUG", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "REDIS_URL", "CACHE_URL"}
    env = {key: value for key, value in os.environ.items() if key not in ignored}
    env.update(
        DATABASE_URL=database,
        DEBUG="0",
        SECRET_KEY=secret_key,
        SECURE_PROXY_SSL_HEADER="1",
        ALLOWED_HOSTS="127.0.0.1",
        # Production requires a configured issuer (system check server.E001, run by migrate).
        OAUTH2_ISSUER=f"https://127.0.0.1:{spec.port}",
        CONN_MAX_AGE=str(conn_max_age),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(spec.env)
    if spec.wsgi == OURS_WSGI:
        # Ours (any instance, an earlier checkout too), as docs/deployment.md says: the
        # credential and audit keys on their own (not derived from SECRET_KEY), the same for the
        # seed step and every instance of this run, and a cache key prefix of this run's own.
        run = hashlib.sha256(secret_key.encode()).hexdigest()
        env.setdefault("OAUTH2_CREDENTIAL_KEY", hashlib.sha256(f"{run}:credentials".encode()).hexdigest())
        env.setdefault("AUDIT_HASH_KEY", hashlib.sha256(f"{run}:audit".encode()).hexdigest())
        env.setdefault("CACHE_KEY_PREFIX", f"bench-{run[:12]}")
    return env


def forget_cache_keys(url: str, prefix: str) -> None:
    """Delete this run's keys (rate-limit counters, marks) from the bench's Redis database."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        for batch in _batched(client.scan_iter(match=f"{prefix}:*", count=1000), 500):
            client.delete(*batch)
    except Exception as error:  # cleaning up must not hide the results
        log(f"warning: could not delete the run's Redis keys: {error}")


def _batched(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def check_redis(url: str) -> str | None:
    """What is wrong with the Redis at `url`, or None when it answers PING."""
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as error:  # any failure: the bench cannot measure production
        return f"{type(error).__name__}: {error}"
    return None


def prepare(spec: ServerSpec, *, env: dict[str, str], tokens: int, consumables: int) -> dict:
    """Migrate the server's fresh database and seed it; return the seed step's JSON."""
    WORK.mkdir(parents=True, exist_ok=True)
    recreate_database(env["DATABASE_URL"])
    run_logged(spec, [str(spec.python), *spec.migrate], env, "migrate")
    for step in spec.setup:
        run_logged(spec, [str(spec.python), *step], env, step[1] if len(step) > 1 else step[0])
    out = WORK / f"{spec.name}.json"
    seed = [part.replace("{out}", str(out)) for part in spec.seed]
    if spec.name == "bare":
        seed += ["--rows", str(tokens)]
    else:
        seed += ["--tokens", str(tokens), "--consumables", str(consumables)]
    started = time.monotonic()
    run_logged(spec, [str(spec.python), *seed], env, "seed")
    analyze(env["DATABASE_URL"])
    log(f"{spec.name}: seeded in {time.monotonic() - started:.0f}s")
    return json.loads(out.read_text())


def run_logged(spec: ServerSpec, command: list[str], env: dict[str, str], step: str) -> None:
    """Run a setup step in the server's project folder; on failure show its output."""
    completed = subprocess.run(command, cwd=spec.project_dir, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(
            f"{spec.name} {step} failed ({completed.returncode}):\n{completed.stdout[-3000:]}\n"
            f"{completed.stderr[-3000:]}"
        )


@dataclass
class RunningServer:
    spec: ServerSpec
    process: subprocess.Popen
    log_path: Path
    worker: subprocess.Popen | None = None  # in gunicorn's process group

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the master), for the profiler."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]


def start(
    spec: ServerSpec, *, env: dict[str, str], workers: int, worker_class: str = "sync"
) -> RunningServer:
    """Start gunicorn in a new process group, on loopback only, and the spec's task worker in
    the same group (so `stop` ends both).

    `sync` workers (gunicorn's default) close the connection after every response; `gthread`
    (one thread per worker, so the same concurrency) keeps HTTP connections alive.
    """
    log_path = WORK / f"{spec.name}-gunicorn.log"
    log_file = log_path.open("w")
    command = [
        str(spec.gunicorn),
        "--workers",
        str(workers),
        "--bind",
        spec.host,
        "--chdir",
        str(spec.project_dir),
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
        "--backlog",
        "512",
        "--worker-class",
        worker_class,
        "--threads",
        "1",
        spec.wsgi,
    ]
    process = subprocess.Popen(
        command,
        cwd=spec.project_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        process_group=0,  # a group of its own; the worker joins it (same session: allowed)
    )
    worker = None
    if spec.worker:
        worker = subprocess.Popen(
            [str(spec.python), *spec.worker],
            cwd=spec.project_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=(WORK / f"{spec.name}-worker.log").open("w"),
            stderr=subprocess.STDOUT,
            process_group=process.pid,
        )
    return RunningServer(spec, process, log_path, worker)


def wait_ready(server: RunningServer, timeout_s: float = 60) -> None:
    """Wait until the server answers HTTP at all (any status), or fail with its log."""
    deadline = time.monotonic() + timeout_s
    url = f"http://{server.spec.host}/"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            urllib.request.urlopen(_as_https(url), timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{server.spec.name} did not start; its log:\n{server.log_path.read_text()[-3000:]}")


def _as_https(url: str) -> urllib.request.Request:
    """A request that counts as HTTPS behind the trusted proxy header (ours redirects plain
    HTTP, SECURE_SSL_REDIRECT), as wrk's are."""
    return urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})


def settle(host: str, timeout_s: float = 120) -> None:
    """Wait until a server has worked off what a burst left queued.

    A burst ends with requests still in flight; a slow target (a PBKDF2-hashed secret takes
    ~0.3 s) would otherwise eat into the next target's burst on the same server. One request
    queued behind them returns once they are done.
    """
    try:
        urllib.request.urlopen(_as_https(f"http://{host}/"), timeout=timeout_s)
    except urllib.error.HTTPError:
        pass
    except OSError as error:
        log(f"warning: {host} did not settle: {error}")


def stop(server: RunningServer, timeout_s: float = 15) -> None:
    """Stop the server's whole process group (gunicorn and its task worker): TERM, then KILL if
    it lingers."""
    processes = [p for p in (server.process, server.worker) if p is not None and p.poll() is None]
    if not processes:
        return
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        for process in processes:
            process.wait(timeout=timeout_s)
    except ProcessLookupError:
        pass


@contextmanager
def running(
    specs_and_envs: list[tuple[ServerSpec, dict[str, str]]], *, workers: int, worker_class: str = "sync"
):
    """Start every server, wait for all, and ALWAYS stop every one that was started."""
    started: list[RunningServer] = []
    try:
        for spec, env in specs_and_envs:
            started.append(start(spec, env=env, workers=workers, worker_class=worker_class))
        for server in started:
            wait_ready(server)
            log(
                f"{server.spec.name}: gunicorn ({workers} {worker_class} workers) on http://{server.spec.host}"
            )
        yield {server.spec.name: server for server in started}
    finally:
        for server in started:
            stop(server)
        if started:
            log("stopped every server")
