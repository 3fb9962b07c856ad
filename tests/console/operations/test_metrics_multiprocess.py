"""gunicorn with PROMETHEUS_MULTIPROC_DIR: /metrics sums every worker's counts, the dead ones'
included, whichever worker answers the scrape (gunicorn.conf.py, oauth_console/metrics/
multiprocess.py). A real gunicorn, on a spare port, with the project's gunicorn.conf.py."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from oauth_console.metrics import multiprocess
from tests.console.operations.scraping import parse, value

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[3]
# A bound on waiting for gunicorn, not a budget the test measures.
WAIT_SECONDS = 30


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def workers_of(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def wait_until(found, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = found()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def answers(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=10).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def gunicorn(tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left over from an earlier run")
    port = spare_port()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "OAUTH_CONSOLE_TESTING": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        [*command, "oauth_console.wsgi"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or answers(url), "gunicorn to answer")
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        yield process, url, directory
    finally:
        process.terminate()
        process.wait(WAIT_SECONDS)


def unauthenticated_api_calls(url: str, count: int) -> None:
    for _ in range(count):
        # No token: refused before any database work, and counted as a bearer check.
        assert requests.get(url + "/api/me", timeout=5).status_code == 401


def test_metrics_sum_every_worker_including_dead_ones(gunicorn):
    process, url, directory = gunicorn
    # The master cleared what an earlier run left.
    assert not (directory / "counter_999999.db").exists()

    (first,) = wait_until(lambda: workers_of(process.pid), "a worker")
    unauthenticated_api_calls(url, 10)

    # The worker dies (as after max_requests, a timeout or a crash); the master starts another.
    os.kill(first, signal.SIGTERM)

    def replaced():
        workers = workers_of(process.pid)
        return workers if workers and first not in workers else None

    (second,) = wait_until(replaced, "the worker to be replaced")
    wait_until(lambda: answers(url), "the new worker to answer")
    unauthenticated_api_calls(url, 7)

    scraped = parse(requests.get(url + "/metrics", timeout=5).text)
    assert value(scraped, "oauth_bearer_checks_total", outcome="missing_authorization") == 17
    assert value(scraped, "oauth_request_duration_seconds_count", endpoint="api-me", status="4xx") == 17
    files = {path.name for path in directory.glob("counter_*.db")}
    assert {f"counter_{first}.db", f"counter_{second}.db"} <= files


def test_hooks_clear_the_directory_and_mark_dead_workers(tmp_path, monkeypatch):
    monkeypatch.setenv(multiprocess.ENVIRONMENT_VARIABLE, str(tmp_path / "new"))
    multiprocess.prepare_directory()
    directory = tmp_path / "new"
    assert directory.is_dir()
    (directory / "counter_1.db").write_bytes(b"x")
    (directory / "gauge_livesum_42.db").write_bytes(b"x")
    (directory / "keep.txt").write_text("not ours")
    multiprocess.worker_exited(42)
    assert not (directory / "gauge_livesum_42.db").exists()
    assert (directory / "counter_1.db").exists()  # a dead worker's counts stay in the sums
    multiprocess.prepare_directory()
    assert sorted(p.name for p in directory.iterdir()) == ["keep.txt"]


def test_hooks_do_nothing_without_the_directory(monkeypatch):
    monkeypatch.delenv(multiprocess.ENVIRONMENT_VARIABLE, raising=False)
    multiprocess.prepare_directory()
    multiprocess.worker_exited(12345)
