"""The `server` app stands alone: in a bare `startproject` with only `server` added and no OAUTH2_*
setting (tests/server/standalone/settings.py) it migrates, passes `check`, publishes its metadata
and issues a client_credentials token, on server/conf.py's defaults.

These tests start fresh processes under the bare settings; tests/server/standalone/inside.py holds
what runs inside (not collected in the project's own run: its name is not test_*).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BARE = "tests.server.standalone.settings"


def _bare_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OAUTH2_", "OAUTH_CONSOLE_", "AUTHLIB_"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, "DJANGO_SETTINGS_MODULE": BARE, **extra}


def _django(*args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=_bare_env(**extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_bare_project_passes_check_and_migrates(tmp_path):
    database = f"sqlite:///{tmp_path / 'bare.sqlite3'}"
    check = _django("check", DATABASE_URL=database)
    assert check.returncode == 0 and "no issues" in check.stdout, check.stdout + check.stderr
    migrate = _django("migrate", "--noinput", DATABASE_URL=database)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "Applying server." in migrate.stdout


def test_the_bare_project_in_production_asks_only_for_the_issuer():
    """DEBUG off with no OAUTH2_* setting: the one error is the missing issuer (server.E001)."""
    code = (
        "import django; from django.conf import settings; settings.DEBUG = False; django.setup();"
        "from django.core.checks import run_checks;"
        "print(sorted(m.id for m in run_checks() if m.is_serious()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_bare_env(), capture_output=True, text=True, timeout=300
    )
    assert result.stdout.split("\n")[0] == "['server.E001']", result.stdout + result.stderr


def test_the_bare_project_serves_the_protocol():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "tests" / "server" / "standalone" / "inside.py"),
            "-q",
            "-p",
            "no:cacheprovider",
            "--noconftest",
            f"--ds={BARE}",
        ],
        cwd=ROOT,
        env=_bare_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout and "failed" not in result.stdout, result.stdout
