"""Run wrk for one bounded burst against a loopback URL and read its BENCH_RESULT line."""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

APT_HINT = "wrk is not installed: apt-get install -y wrk (Debian package), then run make bench again."


class WrkError(RuntimeError):
    """wrk failed or printed no result."""


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reported (times in microseconds, as wrk counts them)."""

    requests: int
    duration_us: int
    connect: int
    read: int
    write: int
    status: int
    timeout: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    operations: int
    bad: int
    used_max: int = 0  # most credentials one thread took (token-list scripts)
    bad_sample: str = ""  # the first unexpected answer: status and the start of its body

    @property
    def errors(self) -> int:
        # `status` (>= 400) is counted again in `bad` by our scripts, so it is not added twice.
        return self.connect + self.read + self.write + self.timeout + self.bad


def find_wrk() -> str:
    """The wrk executable, or SystemExit with the apt command that installs it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(APT_HINT)
    return path


def parse_output(text: str) -> WrkResult:
    """Pick the BENCH_RESULT line our scripts' `done` prints out of wrk's output."""
    for line in text.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line.removeprefix("BENCH_RESULT "))
            counts = [name for name in WrkResult.__dataclass_fields__ if name != "bad_sample"]
            fields = {name: int(data.get(name, 0)) for name in counts}
            return WrkResult(**fields, bad_sample=str(data.get("bad_sample", "")))
    raise WrkError("wrk printed no BENCH_RESULT line:\n" + text[-2000:])


def loopback_only(url: str) -> None:
    """Refuse anything but this machine: the bench must never send load elsewhere."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
        raise ValueError(f"the bench only targets loopback addresses, not {url!r}")


def run(
    url: str, script: Path, *, duration_s: float, connections: int, threads: int, timeout_s: int = 10
) -> WrkResult:
    """Drive `url` with `script` for `duration_s` seconds and return what wrk measured."""
    loopback_only(url)
    command = [
        find_wrk(),
        f"--threads={threads}",
        f"--connections={max(connections, threads)}",
        f"--duration={max(1, round(duration_s))}s",
        f"--timeout={timeout_s}s",
        f"--script={script}",
        url,
    ]
    completed = subprocess.run(
        command,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=duration_s + timeout_s + 30,
        check=False,
    )
    if completed.returncode != 0:
        raise WrkError(f"wrk exited {completed.returncode}: {completed.stderr or completed.stdout}")
    return parse_output(completed.stdout)
