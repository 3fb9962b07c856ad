"""Each server's database: a fresh one per run (a SQLite file under bench/work/ or bench_* on
PostgreSQL), migrated and seeded (`prepare`, with the spec's setup steps), analysed after the
bulk load, dropped at the end."""

import json
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.servers import WORK, ServerSpec, log


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
