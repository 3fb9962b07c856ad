"""Settings read from the environment: production refusals, database and cache choices."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "CACHE_URL",
            "REDIS_URL",
            "OAUTH_CONSOLE_TESTING",
            "OAUTH2_ISSUER",
            # Set by the browser tests' fixture for Playwright; never in a deployment.
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_the_default_secret_key_with_an_explanation():
    result = _manage("check", DEBUG="0")
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def test_production_starts_with_a_real_secret_key():
    result = _manage("check", DEBUG="0", SECRET_KEY="x" * 64, OAUTH2_ISSUER="https://auth.example.com")
    assert result.returncode == 0, result.stderr


def test_sqlite_uses_wal_and_immediate_transactions(tmp_path):
    db = tmp_path / "wal.sqlite3"
    script = (
        "from django.db import connection\n"
        "connection.ensure_connection()\n"
        "cursor = connection.cursor(); cursor.execute('PRAGMA journal_mode')\n"
        "print(cursor.fetchone()[0], connection.settings_dict['OPTIONS']['transaction_mode'],"
        " connection.settings_dict['CONN_MAX_AGE'])\n"
    )
    result = _manage("shell", "--no-imports", "-c", script, DEBUG="1", DATABASE_URL=f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "IMMEDIATE", "60"]


def test_unknown_cache_url_is_a_clear_configuration_error():
    result = _manage("check", DEBUG="1", CACHE_URL="memcached://nowhere")
    assert result.returncode == 2
    assert "CACHE_URL" in result.stderr and "Traceback" not in result.stderr


def test_redis_url_selects_the_redis_cache():
    script = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    result = _manage("shell", "--no-imports", "-c", script, DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/0")
    assert result.stdout.strip() == "django.core.cache.backends.redis.RedisCache"


def test_deploy_checks_are_clean_in_production_settings(tmp_path):
    """`manage.py check --deploy` with the environment docs/deployment.md prescribes: no warning."""
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="k" * 20 + "-production-secret-key-with-enough-variety-0123456789abcdef",
        OAUTH2_CREDENTIAL_KEY="c" * 64,
        AUDIT_HASH_KEY="a" * 64,
        OAUTH2_ISSUER="https://auth.example.com",
        ALLOWED_HOSTS="auth.example.com",
        # Rate limits and lockouts shared by every worker (server.W002 without it); the check
        # does not connect.
        REDIS_URL="redis://redis:6379/0",
        SECURE_PROXY_SSL_HEADER="1",
        SECURE_SSL_REDIRECT="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout + result.stderr


def test_hsts_defaults_on_in_production_and_off_in_debug():
    code = "from django.conf import settings; print(settings.SECURE_HSTS_SECONDS)"
    production = _manage("shell", "--no-imports", "-c", code, DEBUG="0", SECRET_KEY="x" * 64)
    assert production.stdout.split() == ["31536000"], production.stderr
    debug = _manage("shell", "--no-imports", "-c", code, DEBUG="1")
    assert debug.stdout.split() == ["0"], debug.stderr
    chosen = _manage(
        "shell", "--no-imports", "-c", code, DEBUG="0", SECRET_KEY="x" * 64, SECURE_HSTS_SECONDS="60"
    )
    assert chosen.stdout.split()[0] == "60", chosen.stderr


def test_server_side_cursors_can_be_turned_off_for_a_transaction_pooler():
    # docs/deployment.md, "Behind PgBouncer": a server-side cursor outlives the lent transaction.
    script = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS'])"
    )
    url = "postgres://u@127.0.0.1:6432/oauth"
    default = _manage("shell", "--no-imports", "-c", script, DEBUG="1", DATABASE_URL=url)
    pooled = _manage(
        "shell", "--no-imports", "-c", script, DEBUG="1", DATABASE_URL=url, DB_DISABLE_SERVER_SIDE_CURSORS="1"
    )
    assert (default.stdout.strip(), pooled.stdout.strip()) == ("False", "True"), (
        default.stderr + pooled.stderr
    )
