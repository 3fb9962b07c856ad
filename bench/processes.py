"""The servers' processes: gunicorn on loopback and, for ours, the task worker beside it, in a
process group of their own, so `stop` ends the server and every worker it forked; waited for,
settled between bursts, and always stopped (`running`)."""

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import WORK, ServerSpec, log


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
