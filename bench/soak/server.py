"""The server the soak loads: its PostgreSQL database (named `soak` or `soak_*`, dropped and
recreated, seeded through the services), its production environment, and gunicorn.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.soak import ROOT, log

WORK = ROOT / "bench" / "work"
# Rate limits on, but out of reach of one load generator on one address.
OFF_LIMITS = "1000000000/60"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/soak")
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("The soak runs on PostgreSQL: set DATABASE_URL=postgres://.../soak")
    if not (name == "soak" or name.startswith("soak_")):
        raise SystemExit(f"Refusing to recreate database {name!r}: the soak only manages 'soak' or 'soak_*'.")
    return url


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def configure_environment(url: str) -> dict[str, str]:
    """Production settings for both gunicorn and this process (which checks the database)."""
    env = {
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        # Production requires a configured issuer (system check server.E001).
        "OAUTH2_ISSUER": "https://127.0.0.1",
        "SECURE_PROXY_SSL_HEADER": "1",
        "SESSION_COOKIE_SECURE": "0",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": "locmem://",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "oauth_console.settings",
    }
    for name in ("TOKEN", "INTROSPECT", "REVOKE"):
        env[f"OAUTH2_RATE_LIMIT_{name}_IP"] = OFF_LIMITS
        env[f"OAUTH2_RATE_LIMIT_{name}_CLIENT"] = OFF_LIMITS
    env["OAUTH2_RATE_LIMIT_LOGIN_IP"] = OFF_LIMITS
    os.environ.update(env)
    return {**os.environ}


def seed(clients: int) -> list[dict]:
    """One confidential client and one user per virtual client, through the services."""
    from django.contrib.auth import get_user_model

    from server import services
    from server.actors import Actor

    apps = []
    for n in range(clients):
        password = secrets.token_urlsafe(16)
        get_user_model().objects.create_user(f"soak-user-{n}", f"soak{n}@example.com", password)
        client, secret = services.create_client(
            name=f"Soak app {n}",
            actor=Actor.system("soak"),
            redirect_uris=["https://app.example.com/callback"],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            scope=["profile", "email", "read"],
        )
        apps.append(
            {
                "client_id": client.client_id,
                "client_secret": secret,
                "username": f"soak-user-{n}",
                "password": password,
            }
        )
    return apps


class Gunicorn:
    """gunicorn on loopback in its own process group; `stop` always ends every worker."""

    def __init__(self, port: int, workers: int, threads: int, env: dict[str, str]):
        WORK.mkdir(parents=True, exist_ok=True)
        self.log_path = WORK / "soak-gunicorn.log"
        self.port = port
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--graceful-timeout",
            "20",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
            "oauth_console.wsgi:application",
        ]
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(self.url + "/.well-known/oauth-authorization-server", timeout=2)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> int | None:
        """SIGTERM (graceful: workers finish, flush the audit writer and exit), then SIGKILL."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                log("gunicorn did not stop in 40 s: killing it")
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()
        return self.process.returncode
