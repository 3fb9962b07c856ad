"""Django itself: core, database, cache, auth, security headers, static files, logging."""

import os
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured

from oauth_console.env import env_bool, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# --- Core -------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

# A well-known key that must never sign production sessions or derive credential digests.
INSECURE_DEFAULT_SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
_RUNNING_TESTS = "pytest" in sys.modules or env_bool("OAUTH_CONSOLE_TESTING", False)
if not DEBUG and SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY and not _RUNNING_TESTS:
    raise ImproperlyConfigured(
        "Refusing to start with DEBUG off and the built-in development SECRET_KEY: it is public, "
        "so anyone could forge sessions and recompute credential digests. Set SECRET_KEY to a long "
        "random value (for example: python -c 'import secrets; print(secrets.token_urlsafe(64))'), "
        "or set DEBUG=1 for local development."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "crispy_forms",
    "crispy_bootstrap5",
    "import_export",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "server",
    "oauth_console",
    "oauth_console.portal",
    "oauth_console.accounts",
    "oauth_console.audit",
    "oauth_console.clients",
    "oauth_console.tokens",
    "oauth_console.keys",
    "oauth_console.dashboard",
    "oauth_console.metrics",
    "oauth_console.api",
    "oauth_console.webhooks",
]
if _RUNNING_TESTS:
    # The spec's usage example, the test bed of server.oauth2 (tests/oauth2/).
    INSTALLED_APPS.append("tests.oauth2.exampleapp")
    # The same examples copied verbatim (tests/oauth2/test_spec_verbatim.py).
    INSTALLED_APPS.append("tests.oauth2.verbatim")

MIDDLEWARE = [
    # Outermost: the protocol endpoints' latency histogram counts every layer below it.
    "oauth_console.metrics.middleware.ProtocolLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below): django-csp's,
    # with the header of a response without a nonce or a policy of its own built once.
    "oauth_console.csp_middleware.CSPMiddleware",
    # Request id, IP and user agent for the audit log; early, so every later layer sees them.
    "oauth_console.audit.middleware.RequestContextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, the signed-in user and messages: Django's, skipped for the machine
    # endpoints, which read no cookie (oauth_console/browser_layers.py).
    "oauth_console.browser_layers.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Rate limits on the protocol endpoints and sign-in forms (server/ratelimit.py); before the
    # CSRF check so a flood of forged sign-in POSTs is counted too.
    "server.ratelimit.RateLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "oauth_console.browser_layers.AuthenticationMiddleware",
    "oauth_console.browser_layers.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "oauth_console.urls"
WSGI_APPLICATION = "oauth_console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

CONN_MAX_AGE = env_int("CONN_MAX_AGE", 60)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=CONN_MAX_AGE,
        conn_health_checks=True,
        # Behind a transaction-mode pooler (PgBouncer): a server-side cursor outlives the
        # transaction the pooler lends its connection for (docs/deployment.md).
        disable_server_side_cursors=env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE makes a write transaction take the lock
    # when it begins, so concurrent writers queue (up to the timeout) instead of failing with
    # "database is locked" when a read transaction tries to upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with the per-request health check skipped while the connection is busy
    # (oauth_console/db/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "oauth_console.db.postgresql"
# Seconds a persistent connection may sit unused before its next request checks it first with
# `SELECT 1` (0: every request, Django's own behaviour). PostgreSQL only.
DB_HEALTH_CHECK_AFTER_IDLE = env_int("DB_HEALTH_CHECK_AFTER_IDLE", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Task queue -------------------------------------------------------------------------------
# Work that must not run inside a request (an HTTP call to another party: back-channel logout,
# webhook deliveries; the audit log's periodic seal, too costly for a request) is a task
# (django-tasks, Django 6's framework backported). The database backend stores it in the
# request's own transaction, so it is enqueued exactly when the fact that caused it commits (a
# transactional outbox), and `manage.py db_worker` runs it: `make run` starts one beside the
# development server; production runs it as a process of its own (docs/deployment.md). Each kind
# of work has its queue, so one can be given its own workers.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "logout", "webhooks", "audit"],
    }
}

# --- Cache ------------------------------------------------------------------------------------

_cache_url = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL") or ""
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "oauth-console"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
elif _cache_url in {"", "locmem://"}:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(
        f"CACHE_URL/REDIS_URL {_cache_url!r} is not understood: use redis://host:port/db or locmem://."
    )

# --- Auth -------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Security ---------------------------------------------------------------------------------

# Behind a TLS-terminating proxy, trust its X-Forwarded-Proto header (only set this when the
# proxy strips the header from client requests).
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with form POSTs,
# which the CSRF check refuses (sign-in, consent, admin). Other sites still get no Referer.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG and not _RUNNING_TESTS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Redirect plain-HTTP requests to HTTPS. Off by default: the TLS proxy redirects port 80 itself
# and health checks speak plain HTTP to gunicorn; docs/deployment.md sets it on in production
# (behind the proxy, with SECURE_PROXY_SSL_HEADER, proxied HTTPS requests count as secure).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Probes and scrapers speak plain HTTP to the pod (docs/operations.md): never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# HTTP Strict Transport Security: once a browser has seen the header over HTTPS it refuses plain
# HTTP to this host for that long. On by default in production (a year), off in DEBUG so a
# development server on localhost never pins browsers to HTTPS. Django sends it on HTTPS only.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is a commitment the operator makes by submitting the domain to the browsers' list
# (hstspreload.org), and only registrable domains qualify; the header alone does nothing, so it
# is opt-in and Django's reminder about it (security.W021) is silenced while it is off.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Content-Security-Policy (django-csp 4): only our own origin's scripts, styles, images and
# fonts; no inline script or style anywhere (templates load static files; a template that
# really needs an inline block uses request.csp_nonce). No third-party images, so a client's
# logo URL can never be loaded from our pages. Never framed (with X_FRAME_OPTIONS for old
# browsers); forms post only to us (the consent page relaxes form-action: server/views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, CSP_NONCE],
        "style-src": [CSP_SELF, CSP_NONCE],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_NONE],
        "frame-ancestors": [CSP_NONE],
        "form-action": [CSP_SELF],
    }
}

# Request-size limits; protocol endpoints turn Django's own parse failures into RFC errors.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 1000)

# --- Static files -----------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files whitenoise serves at the site's root rather than under STATIC_URL: /favicon.ico, which
# browsers ask for on any page without a <link rel="icon"> (JSON endpoints, for one).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or _RUNNING_TESTS
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING" if _RUNNING_TESTS else "INFO"},
        # The audit log's JSON lines (one per event, INFO) are for a SIEM: off the console by
        # default, while a receiver's failure (ERROR) still shows. AUDIT_LOG_LEVEL=INFO prints
        # every event; docs/audit.md shows how to send them to a file.
        "oauth_console.audit": {"level": os.environ.get("AUDIT_LOG_LEVEL", "WARNING")},
        # authlib logs every issued token dict (access and refresh token values) at DEBUG; never
        # let LOG_LEVEL=DEBUG write credentials to the log (tests/security/test_response_hygiene.py).
        "authlib": {"level": "INFO"},
    },
}
