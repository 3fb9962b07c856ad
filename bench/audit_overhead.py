"""What the audit log costs the token endpoint and the bearer check (issue 4's budget: <10%, <5%).

In one process, through Django's full request handling (test client, all middleware), the same
requests run with the audit log off (its middleware and receivers removed) and on, in two write
modes: `sync` (the default: an event of a write INSERTed in the write's transaction, observed
events in one INSERT at the end of the request) and `behind` (the write-behind thread,
AUDIT_WRITE_BEHIND; its queue is flushed inside the timed burst). With --siem, every event's
JSON line also goes to a file (the project's default keeps that logger at WARNING).
Each round runs the three back to back in a shuffled order; a cost is 1 - the median of the
per-round on/off throughput ratios, so machine noise hits both sides of a ratio alike.

  DATABASE_URL=sqlite:////tmp/audit_bench.sqlite3 .venv/bin/python -m bench.audit_overhead
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/audit_bench .venv/bin/python -m bench.audit_overhead

Scenarios:
  token         POST /oauth/token, client_credentials with HTTP Basic (one event: token_issued)
  bearer        GET /api/me with one token (after its first use, the throttle writes nothing)
  bearer-every  the same with AUDIT_TOKEN_USE_INTERVAL=0: an UPDATE and an INSERT on every use
"""

import argparse
import logging
import os
import random
import statistics
import time
from base64 import b64encode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
os.environ.setdefault("OAUTH_CONSOLE_TESTING", "1")  # the development SECRET_KEY; plain HTTP
os.environ.setdefault("OAUTH2_RATE_LIMIT_ENABLED", "0")  # one client hammering on purpose

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from oauth_console.audit import writer  # noqa: E402
from oauth_console.audit.models import AuditEvent  # noqa: E402
from server import credentials, services  # noqa: E402
from server import signals as server_signals  # noqa: E402
from server.actors import Actor  # noqa: E402
from server.oauth2 import signals as oauth2_signals  # noqa: E402

AUDIT_MIDDLEWARE = "oauth_console.audit.middleware.RequestContextMiddleware"
SIEM_FILE = "/tmp/audit-bench-siem.log"


def _audit_signals():
    from django.contrib.auth import signals as auth_signals

    modules = (oauth2_signals, server_signals, auth_signals)
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, django.dispatch.Signal)
    ]


class AuditSwitch:
    """Connect or disconnect the audit receivers (by their dispatch_uid prefix) and its
    recorders (`server.events`, run in the transaction of a write)."""

    def __init__(self):
        from oauth_console.audit.receivers import RECORDERS

        self.recorders = RECORDERS
        self.saved = {}
        for signal in _audit_signals():
            self.saved[signal] = [r for r in signal.receivers if str(r[0][0]).startswith("audit.")]

    def set(self, on: bool) -> None:
        from server import events

        for name, record in self.recorders:
            (events.add_recorder if on else events.remove_recorder)(name, record)
        for signal, audit in self.saved.items():
            with signal.lock:
                others = [r for r in signal.receivers if not str(r[0][0]).startswith("audit.")]
                signal.receivers = others + (audit if on else [])
                signal.sender_receivers_cache.clear()


def _client(middleware: list[str]) -> HttpClient:
    with override_settings(MIDDLEWARE=middleware):
        http = HttpClient()
        http.get("/.well-known/oauth-authorization-server")  # loads the middleware chain now
    return http


def components(token, bearer, with_audit, without_audit, switch, access: str, repeat: int) -> None:
    """The audit log's own work per request, timed alone (CPU time, many repetitions), beside the
    whole request without it: a measurement that machine noise cannot swamp."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from oauth_console.audit import recorder
    from oauth_console.audit.middleware import RequestContextMiddleware
    from server.models import Token

    def per_call(function, count: int = repeat) -> float:
        started = time.process_time()
        for _ in range(count):
            function()
        return (time.process_time() - started) / count * 1e6

    factory = RequestFactory()
    request = factory.post("/oauth/token", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="bench/1.0")
    middleware = RequestContextMiddleware(lambda r: HttpResponse())
    bare = per_call(lambda: HttpResponse())
    middleware_us = per_call(lambda: middleware(request)) - bare

    row = Token.objects.select_related("client", "user").get(access_token_prefix=access[:12])
    cache.clear()
    oauth2_signals.token_authenticated.send(sender=None, token=row, request=request)  # opens the window
    throttled_us = per_call(
        lambda: oauth2_signals.token_authenticated.send(sender=None, token=row, request=request)
    )

    queued: list = []
    real_store = recorder._store
    recorder._store = queued.append  # stop at the hand-over to the writer
    # With write-behind the recorder hands the event over (to the stub); by default it would
    # INSERT it at once.
    try:
        with override_settings(AUDIT_WRITE_BEHIND=True):
            issued_us = per_call(
                lambda: oauth2_signals.token_issued.send(
                    sender=None,
                    token={"access_token": access, "expires_in": 3600, "scope": "read"},
                    client=row.client,
                    user=None,
                    grant_type="client_credentials",
                    scope="read",
                    request=request,
                    record=row,
                )
            )
    finally:
        recorder._store = real_store
    events = queued[:2000]
    started = time.process_time()
    for low in range(0, len(events), 500):
        with transaction.atomic():
            recorder.insert(events[low : low + 500])
    insert_us = (time.process_time() - started) / len(events) * 1e6

    switch.set(False)
    token_us = per_call(lambda: token(without_audit), 300)
    bearer_us = per_call(lambda: bearer(without_audit), 300)
    switch.set(True)
    token_audit = middleware_us + issued_us + insert_us
    bearer_audit = middleware_us + throttled_us
    lines = [
        ("request context middleware", middleware_us, ""),
        ("token_issued receiver up to the queue", issued_us, ""),
        ("writer INSERT per event (batches of 500)", insert_us, "  (this process; not the server's share)"),
        ("token_authenticated inside its window", throttled_us, ""),
        (
            "token request without the audit log",
            token_us,
            f"  -> the audit adds {100 * token_audit / token_us:.1f}%",
        ),
        (
            "bearer request without the audit log",
            bearer_us,
            f"  -> the audit adds {100 * bearer_audit / bearer_us:.1f}%",
        ),
    ]
    print(f"components (CPU time per call, {repeat} repetitions; {connection.vendor})")
    for what, micros, note in lines:
        print(f"  {what:<42}{micros:8.1f} us{note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400, help="Requests per burst.")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scenarios", default="token,bearer,bearer-every")
    parser.add_argument(
        "--components", type=int, default=0, metavar="N", help="Only time the audit's parts, N times each."
    )
    parser.add_argument(
        "--siem", action="store_true", help=f"Also write every event's JSON line to {SIEM_FILE} (INFO)."
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: this process's CPU time (both threads; SQLite's work is in-process), robust on a "
        "shared machine; wall: elapsed time (includes the database server's work, and other load).",
    )
    args = parser.parse_args()

    logging.getLogger().setLevel(logging.WARNING)
    if args.siem:
        siem = logging.getLogger("oauth_console.audit")
        siem.handlers[:] = [logging.FileHandler(SIEM_FILE)]
        siem.setLevel(logging.INFO)
        siem.propagate = False

    call_command("migrate", verbosity=0)
    client, secret = services.create_client(
        name="audit bench",
        actor=Actor.system("bench"),
        grant_types=["client_credentials", "authorization_code", "refresh_token"],
        redirect_uris=["https://bench.example.com/cb"],
        scope=["profile", "read"],
    )
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="audit-bench-user")
    access = credentials.generate("access_token")
    services.store_token(
        {"access_token": access, "token_type": "Bearer", "expires_in": 86400, "scope": "profile"},
        client=client,
        user=user,
        grant_type="authorization_code",
    )
    basic = "Basic " + b64encode(f"{client.client_id}:{secret}".encode()).decode()

    with_audit = _client(list(settings.MIDDLEWARE))
    without_audit = _client([m for m in settings.MIDDLEWARE if m != AUDIT_MIDDLEWARE])
    switch = AuditSwitch()

    def token(http):
        response = http.post(
            "/oauth/token",
            "grant_type=client_credentials&scope=read",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic,
        )
        assert response.status_code == 200, response.content

    def bearer(http):
        response = http.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access}")
        assert response.status_code == 200, response.content

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.components:
        components(token, bearer, with_audit, without_audit, switch, access, args.components)
        return

    scenarios = {"token": (token, 300), "bearer": (bearer, 300), "bearer-every": (bearer, 0)}
    modes = {"off": None, "sync": False, "behind": True}  # None: audit removed
    print(
        f"database: {connection.vendor}; {args.requests} requests per burst, {args.rounds} rounds, "
        f"{args.clock} time (req/s: requests per second of it), SIEM lines {'on' if args.siem else 'off'}"
    )
    print("sync (the default): events of writes in their transaction; behind: write-behind thread")
    columns = (
        ("off req/s", 10),
        ("sync req/s", 12),
        ("sync cost", 10),
        ("behind req/s", 14),
        ("behind cost", 12),
    )
    print(f"{'scenario':<14}" + "".join(f"{title:>{width}}" for title, width in columns))
    for name in args.scenarios.split(","):
        request, interval = scenarios[name]
        rates = {mode: [] for mode in modes}
        ratios = {"sync": [], "behind": []}
        with override_settings(AUDIT_TOKEN_USE_INTERVAL=interval):
            for round_number in range(args.rounds + 1):  # the first round warms up and is dropped
                measured = {}
                for mode in random.sample(list(modes), len(modes)):
                    behind = modes[mode]
                    switch.set(behind is not None)
                    http = with_audit if behind is not None else without_audit
                    cache.clear()  # rate limits; the token-use window starts anew each burst
                    with override_settings(AUDIT_WRITE_BEHIND=bool(behind)):
                        started = clock()
                        for _ in range(args.requests):
                            request(http)
                        writer.flush()  # what is still queued is part of the burst's work
                        measured[mode] = args.requests / (clock() - started)
                if round_number == 0:
                    continue
                for mode, rate in measured.items():
                    rates[mode].append(rate)
                for mode in ratios:
                    ratios[mode].append(measured[mode] / measured["off"])
        switch.set(True)
        median = statistics.median
        print(
            f"{name:<14}{median(rates['off']):>10.0f}{median(rates['sync']):>12.0f}"
            f"{100 * (1 - median(ratios['sync'])):>9.1f}%{median(rates['behind']):>14.0f}"
            f"{100 * (1 - median(ratios['behind'])):>11.1f}%"
        )
    print(f"({AuditEvent.objects.count()} audit events in the table at the end)")


if __name__ == "__main__":
    main()
