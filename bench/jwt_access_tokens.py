"""Issue 16's bench lines for JWT access tokens (RFC 9068), production config:

1. issuance, client_credentials: ours with opaque tokens vs ours with JWTs (the same database),
   the bare INSERT as the floor;
2. a protected view: offline JWT validation in another Django app (server.oauth2's
   JWTBearerTokenValidator, the JWKS cached), our database-backed bearer check (/api/me) of an
   opaque token and of a JWT, and the bare indexed SELECT view; and offline validation plus an
   introspection call per request (what seeing a revocation at once costs an offline validator);
3. device-flow polling under load: a thousand pending device authorizations (RFC 8628) polled
   round-robin at the token endpoint (each answer `authorization_pending` or `slow_down`), vs
   the bare SELECT.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench.jwt_access_tokens

Servers as `make bench` starts them (bench/servers.py, bench/processes.py: gunicorn, 2 sync
workers, DEBUG off, CONN_MAX_AGE 60, Redis, `check --deploy` clean): ours twice on one database
(opaque, and OAUTH2_ACCESS_TOKEN_FORMAT=jwt), the bare-Django reference, and a resource server
(bench/references/resource_project: the bare reference plus two protected views) on the bare
reference's database. Databases `bench_jwt_ours` and `bench_jwt_bare`, dropped at the end.
Writes bench/results/<date>-jwt-access-tokens.md.
"""

import argparse
import datetime
import json
import os
import random
import secrets
import statistics
import sys
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

from bench import databases, lua, processes, servers, wrk
from bench.targets import basic_auth

RESULTS = servers.BENCH / "results"
RESOURCE_PROJECT = servers.REFERENCES / "resource_project"
BARE_PROJECT = servers.REFERENCES / "bare_project"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per burst")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=100_000, help="token rows seeded (indexes matter)")
    parser.add_argument("--devices", type=int, default=1000, help="pending device authorizations polled")
    parser.add_argument("--scenarios", default="issuance,validation,device", help="comma-separated subset")
    parser.add_argument("--base-port", type=int, default=18461)
    parser.add_argument(
        "--db-tag", default="", help="databases bench_<tag>jwt_ours / _bare (several runs on one server)"
    )
    parser.add_argument(
        "--out", default="", help="results file (default bench/results/<date>-jwt-access-tokens.md)"
    )
    return parser.parse_args(argv)


def server_specs(base_port: int, db_tag: str = "") -> dict[str, servers.ServerSpec]:
    found = servers.specs(base_port)
    ours, bare = found["ours"], found["bare"]
    ours = replace(ours, shares=f"{db_tag}jwt_ours")  # database bench_jwt_ours: not `make bench`'s
    jwt = replace(
        ours,
        name="ours-jwt",
        port=base_port + 1,
        migrate=[],
        seed=[],
        setup=[],
        env={**ours.env, "OAUTH2_ACCESS_TOKEN_FORMAT": "jwt"},
    )
    # The bare reference on this project's interpreter: the same Django, psycopg, gunicorn pins.
    bare = replace(bare, python=Path(sys.executable), port=base_port + 2, shares=f"{db_tag}jwt_bare")
    resource = servers.ServerSpec(
        name="resource",
        project_dir=RESOURCE_PROJECT,
        wsgi="resource_wsgi:application",
        python=Path(sys.executable),
        migrate=[],
        seed=[],
        port=base_port + 3,
        shares=f"{db_tag}jwt_bare",
    )
    return {"ours": ours, "ours-jwt": jwt, "bare": bare, "resource": resource}


def post_form(host: str, path: str, data: dict, auth: str) -> dict:
    request = urllib.request.Request(
        f"http://{host}{path}",
        data=urllib.parse.urlencode(data).encode(),
        headers={
            "Authorization": auth,
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-Proto": "https",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def fixed(name: str, host: str, method: str, path: str, *, body=None, expected=200, **headers) -> dict:
    all_headers = {"Host": host, "X-Forwarded-Proto": "https", "Connection": "keep-alive"}
    all_headers.update({key.replace("_", "-"): value for key, value in headers.items()})
    if body is not None:
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    return {
        "name": name,
        "host": host,
        "path": path,
        "params": {
            "METHOD": method,
            "PATH": path,
            "HEADERS": all_headers,
            "BODY": body,
            "EXPECTED_STATUS": expected,
        },
    }


FORM = "application/x-www-form-urlencoded"


def device_polls(host: str, devices: dict, threads: int) -> dict:
    """Pending device codes polled round-robin (bench/wrk/token_list.lua wraps around the file).
    A device polled again before its interval is up gets `slow_down` (its interval grows); at
    under 200 polls a second, each of a thousand devices polls less often than every 5 s."""
    prefix = urllib.parse.urlencode(
        {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": devices["client_id"]}
    )
    headers = {"Host": host, "X-Forwarded-Proto": "https", "Connection": "keep-alive", "Content-Type": FORM}
    params = {
        "METHOD": "POST",
        "PATH": "/oauth/token",
        "HEADERS": headers,
        "BODY_PREFIX": prefix + "&device_code=",
        "BODY_SUFFIX": "",
        "EXPECTED_STATUS": 400,  # authorization_pending, or slow_down for a device polled too soon
        "TOKEN_FILE": devices["codes"],
        "OFFSET": 0,
        "THREADS": threads,
    }
    name = f"device poll, {devices['devices']:,} pending devices (ours)"
    return {"name": name, "host": host, "path": "/oauth/token", "params": params, "template": "token_list"}


def scenarios_for(specs, creds, bare_creds, tokens, devices, args) -> dict[str, list[dict]]:
    cc = creds["cc"]
    auth = basic_auth(cc["client_id"], cc["client_secret"])
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "read"})
    host = {name: spec.host for name, spec in specs.items()}
    return {
        "issuance": [
            fixed("opaque token (ours)", host["ours"], "POST", "/oauth/token", body=body, Authorization=auth),
            fixed(
                "JWT access token (ours)",
                host["ours-jwt"],
                "POST",
                "/oauth/token",
                body=body,
                Authorization=auth,
            ),
            fixed("bare INSERT (floor)", host["bare"], "POST", "/insert", body="", expected=201),
        ],
        "validation": [
            fixed(
                "offline JWT validation (resource server)",
                host["resource"],
                "GET",
                "/jwt",
                Authorization=f"Bearer {tokens['jwt']}",
            ),
            fixed(
                "our bearer check, opaque token (/api/me)",
                host["ours"],
                "GET",
                "/api/me",
                Authorization=f"Bearer {tokens['opaque']}",
            ),
            fixed(
                "our bearer check, JWT (/api/me)",
                host["ours-jwt"],
                "GET",
                "/api/me",
                Authorization=f"Bearer {tokens['jwt']}",
            ),
            fixed("bare SELECT (floor)", host["bare"], "GET", f"/select?key={bare_creds['select_key']}"),
            fixed(
                "offline JWT validation + introspection per request",
                host["resource"],
                "GET",
                "/jwt-introspected",
                Authorization=f"Bearer {tokens['jwt']}",
            ),
        ],
        "device": [
            device_polls(host["ours"], devices, args.threads),
            fixed("bare SELECT (floor)", host["bare"], "GET", f"/select?key={bare_creds['select_key']}"),
        ],
    }


def burst(target: dict, args, duration: float) -> wrk.WrkResult:
    script = lua.write(
        servers.WORK / "lua" / f"jwt-{secrets.token_hex(3)}.lua",
        target.get("template", "fixed_request"),
        target["params"],
        title=target["name"],
    )
    result = wrk.run(
        f"http://{target['host']}{target['path']}",
        script,
        duration_s=duration,
        connections=args.connections,
        threads=args.threads,
    )
    processes.settle(target["host"])
    if result.errors:
        raise RuntimeError(f"{target['name']}: {result.errors} errors ({result.bad_sample})")
    return result


def measure(scenarios: dict[str, list[dict]], args) -> dict[str, dict[str, list[dict]]]:
    rounds: dict[str, dict[str, list[dict]]] = {
        key: {t["name"]: [] for t in targets} for key, targets in scenarios.items()
    }
    for targets in scenarios.values():
        for target in targets:
            burst(target, args, 2)  # warm-up: connections, prepared statements, the JWKS cache
    for number in range(args.rounds):
        for key, targets in scenarios.items():
            for target in random.sample(targets, len(targets)):
                result = burst(target, args, args.duration)
                rate = result.operations / (result.duration_us / 1e6)
                rounds[key][target["name"]].append(
                    {"rps": rate, "p50_ms": result.p50_us / 1000, "p99_ms": result.p99_us / 1000}
                )
                servers.log(f"round {number + 1} {key}: {target['name']}: {rate:,.0f} req/s")
    return rounds


def ratio(rounds: dict[str, list[dict]], numerator: str, denominator: str) -> float:
    """The median of the per-round ratios (two servers measured in the same round move together)."""
    return statistics.median(
        a["rps"] / b["rps"] for a, b in zip(rounds[numerator], rounds[denominator], strict=True)
    )


def report(rounds, args, database: str, started: datetime.datetime) -> str:
    lines = [
        f"# JWT access tokens (RFC 9068): issuance and validation, {started:%Y-%m-%d} ({database})",
        "",
        "Issue 16's bench lines. Command:",
        "",
        "    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \\",
        "      DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\",
        f"      nice python -m bench.jwt_access_tokens --rounds {args.rounds} --duration {args.duration:g} "
        f"--connections {args.connections} --scenarios {args.scenarios} --devices {args.devices}",
        "",
        f"wrk, {args.threads} threads, {args.connections} connections, {args.duration:g}s bursts, "
        f"{args.rounds} rounds (targets shuffled per round); gunicorn, {args.workers} sync workers per "
        "server; DEBUG off, "
        f"CONN_MAX_AGE 60, Redis; {args.tokens:,} token rows seeded. Ratios are medians of per-round ratios.",
        "",
    ]
    for key, targets in rounds.items():
        lines += [
            f"## {key}",
            "",
            "| Target | req/s (median) | p50 ms | p99 ms | rounds (req/s) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, runs in targets.items():
            rates = [r["rps"] for r in runs]
            p50 = statistics.median(r["p50_ms"] for r in runs)
            p99 = statistics.median(r["p99_ms"] for r in runs)
            each = ", ".join(f"{r:,.0f}" for r in rates)
            lines.append(f"| {name} | {statistics.median(rates):,.0f} | {p50:.2f} | {p99:.2f} | {each} |")
        lines.append("")
    lines += ["## Ratios", ""]
    if "issuance" in rounds:
        issuance = rounds["issuance"]
        opaque, jwt, insert = list(issuance)
        lines += [
            f"- JWT issuance / opaque issuance: {ratio(issuance, jwt, opaque):.2f}",
            f"- JWT issuance / bare INSERT: {ratio(issuance, jwt, insert):.2f}",
            f"- opaque issuance / bare INSERT: {ratio(issuance, opaque, insert):.2f}",
        ]
    if "validation" in rounds:
        validation = rounds["validation"]
        offline, opaque, jwt, select, introspected = list(validation)
        lines += [
            f"- offline JWT validation / our bearer check (opaque): {ratio(validation, offline, opaque):.2f}",
            f"- offline JWT validation / bare SELECT: {ratio(validation, offline, select):.2f}",
            f"- our bearer check (opaque) / bare SELECT: {ratio(validation, opaque, select):.2f}",
            f"- our bearer check (JWT) / our bearer check (opaque): {ratio(validation, jwt, opaque):.2f}",
            f"- offline + introspection / offline: {ratio(validation, introspected, offline):.2f}",
        ]
    if "device" in rounds:
        device = rounds["device"]
        poll, select = list(device)
        lines.append(f"- a pending device poll / bare SELECT: {ratio(device, poll, select):.2f}")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    wrk.find_wrk()
    problem = servers.check_redis(servers.REDIS_URL)
    if problem:
        raise SystemExit(f"Redis does not answer at {servers.REDIS_URL}: {problem}")
    postgres = os.environ.get("DATABASE_URL", "")
    postgres = postgres if postgres.startswith("postgres") else None
    specs = server_specs(args.base_port, args.db_tag)
    secret_key = secrets.token_urlsafe(50)
    envs = {}
    for name, spec in specs.items():
        envs[name] = servers.server_env(
            spec, database=databases.database_url(spec, postgres), secret_key=secret_key, conn_max_age=60
        )
    envs["ours-jwt"]["CACHE_KEY_PREFIX"] = envs["ours"]["CACHE_KEY_PREFIX"]
    jwt_host = specs["ours-jwt"].host
    try:
        creds = databases.prepare(specs["ours"], env=envs["ours"], tokens=args.tokens, consumables=10)
        bare_creds = databases.prepare(specs["bare"], env=envs["bare"], tokens=args.tokens, consumables=0)
        devices = {"codes": str(servers.WORK / "devices.txt"), "out": servers.WORK / "devices.json"}
        if "device" in args.scenarios:
            seed = ["-m", "bench.seed_devices", "--devices", str(args.devices), "--codes", devices["codes"]]
            seed += ["--out", str(devices["out"])]
            databases.run_logged(
                specs["ours"], [str(specs["ours"].python), *seed], envs["ours"], "seed devices"
            )
            devices.update(json.loads(devices["out"].read_text()))
        cc = creds["cc"]
        envs["resource"].update(
            PYTHONPATH=f"{servers.ROOT}:{BARE_PROJECT}",
            RESOURCE_ISSUER=f"https://{jwt_host}",
            RESOURCE_JWKS_URI=f"http://{jwt_host}/oauth/jwks",
            RESOURCE_INTROSPECTION_URI=f"http://{jwt_host}/oauth/introspect",
            RESOURCE_CLIENT_ID=cc["client_id"],
            RESOURCE_CLIENT_SECRET=cc["client_secret"],
        )
        with processes.running([(spec, envs[name]) for name, spec in specs.items()], workers=args.workers):
            auth = basic_auth(cc["client_id"], cc["client_secret"])
            grant = {"grant_type": "client_credentials", "scope": "profile read"}
            tokens = {
                "opaque": post_form(specs["ours"].host, "/oauth/token", grant, auth)["access_token"],
                "jwt": post_form(jwt_host, "/oauth/token", grant, auth)["access_token"],
            }
            assert tokens["jwt"].startswith("eyJ") and tokens["opaque"].startswith("oat_"), tokens
            wanted = args.scenarios.split(",")
            every = scenarios_for(specs, creds, bare_creds, tokens, devices, args)
            rounds = measure({key: targets for key, targets in every.items() if key in wanted}, args)
    finally:
        if postgres:
            for name in ("ours", "bare"):
                databases.drop_database(envs[name]["DATABASE_URL"])
        servers.forget_cache_keys(servers.REDIS_URL, envs["ours"]["CACHE_KEY_PREFIX"])
    text = report(rounds, args, "PostgreSQL" if postgres else "SQLite", started)
    out = Path(args.out) if args.out else RESULTS / f"{started:%Y-%m-%d}-jwt-access-tokens.md"
    out.write_text(text)
    print(text)
    servers.log(f"wrote {out}")


if __name__ == "__main__":
    main()
