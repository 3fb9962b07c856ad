"""An audit log that loses nothing: a token and its `token_issued` event commit together.

A real gunicorn (sync workers, the project's settings, write-behind at its default: off) serves
client_credentials requests from several threads against the test database; a worker is killed
with SIGKILL in the middle of the load, more than once, so some requests die mid-flight. Then
every token in the table has exactly one `token_issued` event and every such event its token,
every token a client received is in the table, and the log still seals and verifies.

On PostgreSQL only (CI's PostgreSQL leg): SQLite's file database and a second process writing to
it are not the production configuration whose durability this proves.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection

from oauth_console.audit import checkpoints
from oauth_console.audit.models import AuditEvent
from server.models import Token
from tests.security.conftest import basic

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="kills a gunicorn worker writing to PostgreSQL (set DATABASE_URL=postgres://...)",
    ),
]

WORKERS = 2
THREADS = 4
KILLS = 3
# Bounds on waiting (a hung server is a failure, not a hang), never a measured budget.
START_SECONDS = 60
WAIT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    s = connection.settings_dict  # the test database's, once pytest-django created it
    credentials = quote(s["USER"] or "postgres") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{credentials}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def server_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST", "AUDIT_", "CACHE_URL", "REDIS_URL"))
    }
    env.update(
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="oauth_console.settings",
        # The test process's settings (its SECRET_KEY derives the client's secret digest).
        OAUTH_CONSOLE_TESTING="1",
        # Load from one address and one client: the limiter would refuse most of it.
        OAUTH2_RATE_LIMIT_ENABLED="0",
    )
    return env


class Gunicorn:
    def __init__(self, port: int, log_path: Path):
        self.port = port
        self.log_path = log_path
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(WORKERS),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "oauth_console.wsgi",
            ],
            cwd=ROOT,
            env=server_env(),
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text()[-3000:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log()}"
            try:
                requests.get(self.url + "/", timeout=WAIT_SECONDS)
                return
            except requests.RequestException:  # not listening yet, or a worker still starting
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer within {START_SECONDS} s:\n{self.log()}")

    def workers(self) -> list[int]:
        pid = self.process.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=WAIT_SECONDS)


@pytest.fixture
def gunicorn(tmp_path):
    server = Gunicorn(free_port(), tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


class Load:
    """Threads asking for client_credentials tokens until told to stop."""

    def __init__(self, url: str, client_id: str, secret: str):
        self.url = url + "/oauth/token"
        self.auth = basic(client_id, secret)  # requests' auth tuple
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.issued: list[str] = []  # access tokens the server answered with
        self.statuses: dict[int | str, int] = {}
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(THREADS)]

    def count(self, outcome) -> None:
        with self.lock:
            self.statuses[outcome] = self.statuses.get(outcome, 0) + 1

    def run(self) -> None:
        with requests.Session() as session:
            while not self.stopping.is_set():
                try:
                    response = session.post(
                        self.url,
                        data={"grant_type": "client_credentials", "scope": "read"},
                        auth=self.auth,
                        timeout=WAIT_SECONDS,
                    )
                except requests.RequestException:
                    self.count("connection lost")  # its worker was killed mid-request
                    continue
                self.count(response.status_code)
                if response.status_code == 200:
                    with self.lock:
                        self.issued.append(response.json()["access_token"])

    def answered(self) -> int:
        with self.lock:
            return len(self.issued)

    def wait_for_answers(self, count: int) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while self.answered() < count:
            assert time.monotonic() < deadline, f"only {self.answered()} tokens: {self.statuses}"
            time.sleep(0.01)


def test_a_killed_worker_leaves_no_token_without_its_event_and_no_event_without_its_token(
    make_client, gunicorn
):
    client, secret = make_client("Durability", grant_types=["client_credentials"], scope=["read"])
    load = Load(gunicorn.url, client.client_id, secret)
    for thread in load.threads:
        thread.start()
    try:
        load.wait_for_answers(20)
        for _ in range(KILLS):
            # Mid-run: every thread has a request in flight or about to be.
            victim = gunicorn.workers()[0]
            os.kill(victim, signal.SIGKILL)
            # The master replaces the worker; the load goes on through the other one meanwhile.
            load.wait_for_answers(load.answered() + 20)
    finally:
        load.stopping.set()
        for thread in load.threads:
            thread.join(WAIT_SECONDS)
    gunicorn.stop()  # nothing in flight any more when the tables are read

    assert load.statuses.get(200, 0) >= 20 * (KILLS + 1), load.statuses
    assert set(load.statuses) <= {200, "connection lost"}, (load.statuses, gunicorn.log())

    tokens = dict(Token.objects.filter(client=client).values_list("pk", "access_token_prefix"))
    events = list(
        AuditEvent.objects.filter(event_type="token_issued", client_id=client.client_id).values_list(
            "token_id", "token_prefix"
        )
    )
    event_tokens = [token_id for token_id, _ in events]
    # Every token has exactly one event, every event names a token that exists ...
    assert len(event_tokens) == len(set(event_tokens))
    assert set(event_tokens) == set(tokens), (
        f"tokens without an event: {sorted(set(tokens) - set(event_tokens))}; "
        f"events without a token: {sorted(set(event_tokens) - set(tokens))}"
    )
    assert all(tokens[token_id] == prefix for token_id, prefix in events)
    # ... and every token a client was given is one of them (it was answered after the commit).
    assert {access[:12] for access in load.issued} <= set(tokens.values())

    # The ids that killed transactions took and never used are gaps the chain is made for.
    checkpoints.seal(delay=0)
    report = checkpoints.verify()
    assert report.intact, report.problem
    assert report.sealed == report.checked == AuditEvent.objects.count()
