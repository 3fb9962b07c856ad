"""Liveness and readiness for orchestrators and load balancers (docs/operations.md).

GET /healthz  the process answers: 200, no I/O at all.
GET /readyz   the server can serve: every database answers `SELECT 1`, its migrations are all
              applied, every cache answers a read, every OpenID Connect signing key that signs
              (or is next to) decrypts. 200 when all pass, else 503; the JSON body names each
              check with its outcome and time, and lists the failing ones.

Cheap enough to call every few seconds: the migration graph is compared with `django_migrations`
until it matches once per process and database, then only `SELECT 1` and one read of the active
and next signing keys (a few rows; each decrypted with AES-GCM, microseconds) run: two queries
and one cache read per probe. A key this process cannot decrypt (the fleet disagrees about
OAUTH2_KEY_ENCRYPTION_KEY, or it changed) makes every `openid` token request fail: it is named.
Never audited, never rate-limited, no session or CSRF, not behind the protocol
endpoints' HTTPS rule and not redirected by SECURE_SSL_REDIRECT (SECURE_REDIRECT_EXEMPT): a
kubelet speaks plain HTTP to the pod. Errors are named by their class only: the body is public,
and a driver's message can hold a host name or user.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from server import selectors

# Database aliases whose migrations were found all applied (by this process): not read again.
_migrated: set[str] = set()
# A key no one writes: reading it is a round trip and nothing else.
CACHE_PROBE_KEY = "health:probe"


class CheckFailed(Exception):
    """A check's failure, with what to show (class names and aliases only)."""


def _database_answers() -> None:
    failures = []
    for alias in connections:
        connection = connections[alias]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception as exc:
            failures.append(f"{alias}: {type(exc).__name__}")
            # A broken connection is dropped now, so the next probe connects afresh (a request
            # would do the same at its end; inside a transaction Django must do it itself).
            if not connection.in_atomic_block:
                with contextlib.suppress(Exception):  # closing a dead connection may fail too
                    connection.close()
    if failures:
        raise CheckFailed("; ".join(failures))


def _migrations_applied() -> None:
    pending = []
    for alias in connections:
        if alias in _migrated:
            continue
        executor = MigrationExecutor(connections[alias])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            pending.append(f"{alias}: {len(plan)} unapplied")
        else:
            _migrated.add(alias)
    if pending:
        raise CheckFailed("; ".join(pending))


def _cache_answers() -> None:
    failures = []
    for alias in settings.CACHES:
        try:
            caches[alias].get(CACHE_PROBE_KEY)
        except Exception as exc:
            failures.append(f"{alias}: {type(exc).__name__}")
    if failures:
        raise CheckFailed("; ".join(failures))


def _signing_keys_usable() -> None:
    # Naming a key by its kid's start is no disclosure: the JWKS publishes kids.
    unusable = selectors.unusable_signing_keys()
    if unusable:
        raise CheckFailed("; ".join(unusable))


def _timed(check: Callable[[], None]) -> dict:
    started = time.perf_counter()
    result: dict = {"ok": True}
    try:
        check()
    except CheckFailed as failure:
        result = {"ok": False, "error": str(failure)}
    except Exception as exc:  # a check must answer, not raise: a 500 would say nothing
        result = {"ok": False, "error": type(exc).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def readiness() -> dict[str, dict]:
    """Each check's result: {"ok": bool, "ms": float, "error": str (when not ok)}; a check
    that could not run has "ok": None and says why in "skipped"."""
    checks = {"database": _timed(_database_answers)}
    if checks["database"]["ok"]:
        checks["migrations"] = _timed(_migrations_applied)
    else:
        checks["migrations"] = {"ok": None, "ms": 0.0, "skipped": "the database is unreachable"}
    checks["cache"] = _timed(_cache_answers)
    if checks["migrations"]["ok"]:
        checks["signing_key"] = _timed(_signing_keys_usable)
    else:
        checks["signing_key"] = {"ok": None, "ms": 0.0, "skipped": "the database is not ready"}
    return checks


@csrf_exempt
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    failing = [name for name, result in checks.items() if result["ok"] is False]
    body = {"status": "unavailable" if failing else "ready", "failing": failing, "checks": checks}
    return JsonResponse(body, status=503 if failing else 200)
