"""What the RFC 8707 audience check costs the bearer check (issue 16, docs/resources.md).

In one process, the same bearer check (`ResourceProtector.acquire_token` with our validator: one
indexed SELECT by digest) runs through two protectors on fresh requests: one naming its resource
(`resource=`: the audience check and RFC 9728 challenges, as `/api/me` runs) and one naming
none (no audience check, the protector as it was). Each round runs both back to back in a
shuffled order; the cost is 1 - the median of the per-round ratios with/without.

  DATABASE_URL=sqlite:////tmp/audience_bench.sqlite3 .venv/bin/python -m bench.audience_check
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/audience_bench .venv/bin/python -m bench.audience_check
"""

import argparse
import os
import random
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
os.environ.setdefault("OAUTH_CONSOLE_TESTING", "1")  # the development SECRET_KEY; plain HTTP
# As production runs (server.E001): the resource identifier comes from the setting, not the Host.
os.environ.setdefault("OAUTH2_ISSUER", "https://auth.example.com")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from server import services  # noqa: E402
from server.actors import Actor  # noqa: E402
from server.bindings.bearer import OurResourceProtector, TokenValidator  # noqa: E402


def _protector(resource):
    protector = OurResourceProtector(resource=resource) if resource else OurResourceProtector()
    protector.register_token_validator(TokenValidator())
    return protector


def _burst(protector, header: str, count: int) -> float:
    factory = RequestFactory()
    started = time.perf_counter()
    for _ in range(count):
        protector.acquire_token(factory.get("/api/me", HTTP_AUTHORIZATION=header), None)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    client, _secret = services.create_client(
        name=f"audience bench {time.time()}",
        actor=Actor.system("bench"),
        grant_types=["client_credentials"],
        scope=["read"],
    )
    token = f"oat_audience_bench_{time.time_ns()}"
    services.store_token(
        {"access_token": token, "expires_in": 3600}, client=client, user=None, grant_type="client_credentials"
    )
    header = f"Bearer {token}"
    targets = {"with audience": _protector("/api"), "without": _protector(None)}
    for protector in targets.values():
        _burst(protector, header, 200)  # warm-up: prepared statements, caches
    ratios, rates = [], {name: [] for name in targets}
    for _ in range(args.rounds):
        order = list(targets)
        random.shuffle(order)
        found = {name: _burst(targets[name], header, args.requests) for name in order}
        for name, rate in found.items():
            rates[name].append(rate)
        ratios.append(found["with audience"] / found["without"])
    for name, values in rates.items():
        print(f"{name:14} {statistics.median(values):8.0f} checks/s (median of {args.rounds})")
    print(f"audience check cost: {(1 - statistics.median(ratios)) * 100:+.1f}% of the bearer check")


if __name__ == "__main__":
    main()
