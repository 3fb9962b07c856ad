"""gunicorn's hooks for prometheus-client's multiprocess mode (`gunicorn.conf.py` calls them).

With PROMETHEUS_MULTIPROC_DIR set, every worker writes its counts to files of its own in that
directory and /metrics sums them, so a scrape sees the whole server whichever worker answers.
The files of a previous run are removed when the master starts (their counts would otherwise be
added to the new run's forever, and the directory would grow with every restart), and a worker
that exits is marked dead (its live gauges stop counting; its counters and histograms stay in
the sums, as a counter must). Imports nothing of Django: the master runs these before any app.
"""

from __future__ import annotations

import os
from pathlib import Path

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def directory() -> Path | None:
    """The multiprocess directory, or None when multiprocess mode is off."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "")
    return Path(value) if value else None


def prepare_directory() -> None:
    """Create the directory if needed and remove the count files a previous run left."""
    path = directory()
    if path is None:
        return
    path.mkdir(parents=True, exist_ok=True)
    for leftover in path.glob("*.db"):
        leftover.unlink(missing_ok=True)


def worker_exited(pid: int) -> None:
    """Mark the worker `pid` dead (gunicorn's child_exit)."""
    if directory() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
