"""A short run of the soak harness (bench/soak), so CI on PostgreSQL proves it still passes.

The real soak is `python -m bench.soak` (minutes); this runs it for a few seconds in a
subprocess, against a database of its own (`soak_pytest`) on the test database's server.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the soak runs gunicorn on PostgreSQL (set DATABASE_URL=postgres://...)",
    ),
]


def soak_database_url() -> str:
    s = connection.settings_dict
    credentials = quote(s["USER"] or "postgres")
    if s["PASSWORD"]:
        credentials += ":" + quote(s["PASSWORD"])
    return f"postgres://{credentials}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/soak_pytest"


def test_soak_smoke_run_passes_every_check():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST", "OAUTH_CONSOLE_TESTING"))
    }
    env["DATABASE_URL"] = soak_database_url()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--duration",
            "8",
            "--clients",
            "3",
            "--port",
            "18459",
            "--no-report",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert "[soak] PASS" in output
    assert "zero 5xx: 0 5xx" in output
