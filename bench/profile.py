"""Where our hot paths spend their time, under load: py-spy on the gunicorn workers.

    python -m bench.profile [--duration 20] [--tokens 100000]

Seeds a fresh oauth-console database (as `bench.run` does), starts it under gunicorn, drives
the client_credentials token endpoint, the bearer-protected GET and introspection with wrk, and samples
both workers with `py-spy record --subprocesses` meanwhile. Writes
bench/results/<date>-profile-<database>.md: the top frames by inclusive and by own time, and
own time per package. (py-spy needs ptrace: root, or CAP_SYS_PTRACE.)
"""

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import databases, lua, processes, report, servers, targets, wrk
from bench.run import RESULTS, postgres_url

# A frame is "function (path:line)", the path relative to site-packages or the project (py-spy
# shortens it); these map a path to the layer it belongs to.
PACKAGES = (
    ("server/oauth2/", "server.oauth2"),
    ("server/", "server"),
    ("oauth_console/", "oauth_console"),
    ("authlib/", "authlib"),
    ("django/db/", "django.db"),
    ("django/", "django (other)"),
    ("psycopg/", "psycopg"),
    ("gunicorn/", "gunicorn"),
    ("whitenoise/", "whitenoise"),
)


REQUEST_ROOT = "WSGIHandler.__call__"


@dataclass(frozen=True)
class Profile:
    samples: int  # every sample of every process (master and workers)
    inclusive: Counter  # over request samples only: frame -> samples it was on
    own: Counter  # over every sample: frame -> samples it was the leaf of
    packages: Counter
    request_samples: int = 0  # samples inside Django's request handling


def package_of(frame: str) -> str:
    """The layer a py-spy frame belongs to ("server", "django.db", "stdlib/native" ...)."""
    path = frame.rpartition("(")[2].rpartition(":")[0]
    for marker, name in PACKAGES:
        if path.startswith(marker) or f"/{marker}" in path:
            return name
    return "stdlib/native/other"


def parse_collapsed(text: str) -> Profile:
    """Aggregate py-spy's raw (collapsed) stacks: `frame;frame;...;leaf count` per line."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    packages: Counter = Counter()
    total = requests = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        weight = int(count)
        # The first frame is py-spy's process/thread label, not code.
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += weight
        own[frames[-1]] += weight
        packages[package_of(frames[-1])] += weight
        if any(frame.startswith(REQUEST_ROOT) for frame in frames):
            requests += weight
            for frame in set(frames):
                inclusive[frame] += weight
    return Profile(total, inclusive, own, packages, requests)


def short(frame: str) -> str:
    """Trim the site-packages prefix off a frame for the table."""
    for marker in ("site-packages/", "/work/main/"):
        if marker in frame:
            head, _, tail = frame.partition("(")
            return f"{head}({tail.split(marker, 1)[-1]}"
    return frame


def render(title: str, profile: Profile, rate: float, queries: list[str] | None = None, top: int = 10) -> str:
    """One hot path's section of the profile page."""

    def share(count: int, of: int) -> str:
        return f"{count / of:.1%}" if of else "—"

    # Inclusive time is counted within request handling; frames on (nearly) every request
    # sample (the WSGI handler, the middleware chain) say nothing about where time goes.
    inclusive = [
        (frame, count)
        for frame, count in profile.inclusive.most_common()
        if count < 0.95 * profile.request_samples
    ][:top]
    lines = [
        f"## {title}",
        "",
        f"{profile.samples:,} samples over the gunicorn processes while wrk drove {rate:,.0f} req/s; "
        f"{share(profile.request_samples, profile.samples)} of them inside Django's request handling "
        "(the rest: gunicorn accepting, writing and closing connections, the master).",
        "",
        f"Top {top} frames by inclusive time within request handling (frames on ≥95% of requests left out):",
        "",
        report.markdown_table(
            ["#", "frame", "share of request time"],
            [[i + 1, short(f), share(c, profile.request_samples)] for i, (f, c) in enumerate(inclusive)],
        ),
        "",
        f"Top {top} frames by own time (the frame itself, at the top of the stack), all samples:",
        "",
        report.markdown_table(
            ["#", "frame", "share"],
            [
                [i + 1, short(f), share(c, profile.samples)]
                for i, (f, c) in enumerate(profile.own.most_common(top))
            ],
        ),
        "",
        "Own time by layer:",
        "",
        report.markdown_table(
            ["layer", "share"], [[p, share(c, profile.samples)] for p, c in profile.packages.most_common()]
        ),
        "",
    ]
    if queries is not None:
        lines += [f"SQL of one request ({len(queries)} queries, from `bench.query_count`):", ""]
        lines += [f"{n}. `{sql[:200]}{'…' if len(sql) > 200 else ''}`" for n, sql in enumerate(queries, 1)]
        lines.append("")
    return "\n".join(lines)


def request_queries(env: dict[str, str], creds_file: Path) -> dict:
    """The SQL of one request per hot path, from a subprocess with the server's settings."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.query_count", str(creds_file)],
        cwd=servers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        servers.log(f"warning: could not count queries: {completed.stderr[-1000:]}")
        return {}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def profile_target(target: targets.Target, server: processes.RunningServer, duration: float, out: Path):
    """Drive `target` with wrk while py-spy samples the server's workers; return (profile, rate)."""
    script = lua.write(servers.WORK / "lua" / f"profile-{out.stem}.lua", target.template, target.params)
    raw = out.with_suffix(".txt")
    spy = subprocess.Popen(
        [
            shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(server.process.pid),
            "--subprocesses",
            "--function",
            "--nonblocking",
            "--rate",
            "250",
            "--duration",
            str(int(duration)),
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)  # let py-spy attach before the load starts
    result = wrk.run(
        f"http://{server.spec.host}{target.url_path}", script, duration_s=duration, connections=8, threads=2
    )
    _, errors = spy.communicate(timeout=duration + 60)
    if spy.returncode != 0 or not raw.exists():
        raise RuntimeError(f"py-spy failed ({spy.returncode}): {errors[-2000:]}")
    return parse_collapsed(raw.read_text()), result.operations / (result.duration_us / 1e6)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per hot path")
    parser.add_argument("--tokens", type=int, default=100_000, help="tokens seeded")
    parser.add_argument("--base-port", type=int, default=18411)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    wrk.find_wrk()
    pg = postgres_url()
    problem = servers.check_redis(servers.REDIS_URL)
    if problem:
        raise SystemExit(f"bench.profile needs Redis at {servers.REDIS_URL} (production): {problem}")
    spec = servers.specs(args.base_port)["ours"]
    spec.name = "ours-profile"
    env = servers.server_env(
        spec,
        database=databases.database_url(spec, pg),
        secret_key=secrets.token_urlsafe(50),
        conn_max_age=60,
    )
    servers.log(f"profile: fresh database, seed {args.tokens:,} tokens")
    try:
        creds = databases.prepare(spec, env=env, tokens=args.tokens, consumables=10)
        queries = request_queries(env, servers.WORK / f"{spec.name}.json")
        sections = []
        with processes.running([(spec, env)], workers=2) as running:
            server = running[spec.name]
            for key, title, target in (
                ("token", "client_credentials token", targets.ours_client_credentials(creds, spec.host)),
                ("bearer", "bearer-protected GET /api/me", targets.ours_bearer(creds, spec.host)),
                ("introspection", "introspection", targets.ours_introspection(creds, spec.host)),
            ):
                # Warm both workers up (imports, first queries) before sampling.
                warm = lua.write(
                    servers.WORK / "lua" / f"profile-warm-{key}.lua", target.template, target.params
                )
                wrk.run(f"http://{spec.host}{target.url_path}", warm, duration_s=2, connections=8, threads=2)
                servers.log(f"profile: sampling {title} for {args.duration:g}s")
                profile, rate = profile_target(
                    target, server, args.duration, servers.WORK / f"profile-{key}.raw"
                )
                sections.append(render(title, profile, rate, queries.get(key, {}).get("queries")))
    finally:
        if pg:
            databases.drop_database(env["DATABASE_URL"])
        servers.forget_cache_keys(servers.REDIS_URL, env["CACHE_KEY_PREFIX"])
    now = datetime.now(UTC)
    backend = "postgresql" if pg else "sqlite"
    page = args.output / f"{now:%Y-%m-%d}-profile-{backend}.md"
    args.output.mkdir(parents=True, exist_ok=True)
    header = [
        f"# Hot-path profile, {now:%Y-%m-%d %H:%M} UTC ({backend})",
        "",
        "py-spy 0.4.3 (`record --subprocesses --function --nonblocking`, 250 Hz) on both gunicorn workers "
        "of oauth-console in production as `make bench` runs it (DEBUG off, REDIS_URL, CONN_MAX_AGE=60, "
        "audit log on), under wrk load (2 threads, 8 "
        f"connections), {args.tokens:,} tokens seeded. Produced by `python -m bench.profile`.",
        "",
    ]
    page.write_text("\n".join(header) + "\n" + "\n".join(sections))
    from bench.run import write_index

    write_index(args.output)
    print(page.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
