"""The servers under test: what each one is (its project, virtualenv, commands, port) and the
environment it runs in.

Every server gets the same production settings (`server_env`: DEBUG off, the proxy-SSL header
trusted so loopback HTTP counts as HTTPS, the same CONN_MAX_AGE). Ours runs as
docs/deployment.md prescribes (Redis, keys of their own, `check --deploy` clean, one task worker
`manage.py db_worker` beside gunicorn: the audit seals the requests queue run there, on the same
machine, during the measurement); a second instance of ours on the same database with the
local-memory cache is the secondary line. Their databases: bench/databases.py; their processes
(gunicorn, the task worker): bench/processes.py.
"""

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

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


# --- environment -------------------------------------------------------------------------------


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
