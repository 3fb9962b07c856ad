"""Settings for oauth-console, read from the environment (12-factor).

One module for every environment. Development, tests and production differ only in
environment variables; see README.md for the list.
"""

import ipaddress
import os
import re
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured

from oauth_console.env import env_bool, env_int, env_list
from server.conf import SETTINGS as SERVER_SETTINGS

BASE_DIR = Path(__file__).resolve().parent.parent


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
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Request id, IP and user agent for the audit log; early, so every later layer sees them.
    "oauth_console.audit.middleware.RequestContextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Rate limits on the protocol endpoints and sign-in forms (server/ratelimit.py); before the
    # CSRF check so a flood of forged sign-in POSTs is counted too.
    "server.ratelimit.RateLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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

# --- Operator API (/api/v1/, oauth_console/api, docs/api.md) ------------------------------------
# Its views set their own authentication, permissions, parsers and renderers; these are what
# DRF reads globally: the schema generator, RFC 9457 errors, and no anonymous user object.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "oauth_console.api.problems.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "oauth-console operator API",
    "DESCRIPTION": "Clients, secrets, tokens, consents, initial access tokens, the audit log and "
    "signing keys, for operators' tools. Authenticate with an access token of a client_credentials "
    "client holding the console:* scopes (docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI from our own static files (drf-spectacular-sidecar): the CSP allows no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "GrantTypeEnum": "server.policies.SUPPORTED_GRANT_TYPES",
        "SigningAlgorithmEnum": "server.key_models.SIGNING_ALGORITHMS",
    },
}

# --- OAuth 2.0 server -------------------------------------------------------------------------
# What each setting means and its default: server/conf.py (the app runs without any of them; the
# table in docs/deployment.md). Here they are only read from the environment.


def server_default(name: str):
    return SERVER_SETTINGS[name].default


# The issuer identifier (RFC 8414 / RFC 9207), e.g. https://auth.example.com. Required with DEBUG
# off (system check server.E001); empty in development: derived from the request's host.
OAUTH2_ISSUER = os.environ.get("OAUTH2_ISSUER", "").rstrip("/")
# The test run has DEBUG off but answers as http://testserver and on live-server ports, where
# the host-derived issuer is what the tests compare; tests/server/test_checks.py un-silences it.
if _RUNNING_TESTS and not OAUTH2_ISSUER:
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "server.E001"]
# Protocol endpoints refuse plain HTTP unless this is off (it is off in DEBUG).
# (Tests speak plain HTTP through the test client; the HTTPS tests turn it on.)
OAUTH2_REQUIRE_HTTPS = env_bool("OAUTH2_REQUIRE_HTTPS", not DEBUG and not _RUNNING_TESTS)
if not OAUTH2_REQUIRE_HTTPS:
    # authlib refuses http:// URIs unless told otherwise; our own check replaces its.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
# Key for the keyed digests of secrets and tokens. Defaults to one derived from SECRET_KEY;
# set it separately so that rotating SECRET_KEY does not invalidate every credential.
OAUTH2_CREDENTIAL_KEY = os.environ.get("OAUTH2_CREDENTIAL_KEY", "")
OAUTH2_ACCESS_TOKEN_LIFETIME = env_int(
    "OAUTH2_ACCESS_TOKEN_LIFETIME", server_default("OAUTH2_ACCESS_TOKEN_LIFETIME")
)
OAUTH2_REFRESH_TOKEN_LIFETIME = env_int(
    "OAUTH2_REFRESH_TOKEN_LIFETIME", server_default("OAUTH2_REFRESH_TOKEN_LIFETIME")
)
OAUTH2_AUTHORIZATION_CODE_LIFETIME = env_int(
    "OAUTH2_AUTHORIZATION_CODE_LIFETIME", server_default("OAUTH2_AUTHORIZATION_CODE_LIFETIME")
)
# PKCE (S256) is required for every authorization-code flow unless this is turned off; it is
# always required for public clients.
OAUTH2_REQUIRE_PKCE = env_bool("OAUTH2_REQUIRE_PKCE", server_default("OAUTH2_REQUIRE_PKCE"))
# A user who already approved a client for the same or broader scopes is not asked again,
# unless this is on (or the client's own "require consent" flag is set).
OAUTH2_ALWAYS_ASK_CONSENT = env_bool("OAUTH2_ALWAYS_ASK_CONSENT", server_default("OAUTH2_ALWAYS_ASK_CONSENT"))
# Signing keys (docs/oidc.md): automatic rotation by age (0: off) from `rotate_signing_keys --if-due`.
OAUTH2_SIGNING_KEY_MAX_AGE = env_int(
    "OAUTH2_SIGNING_KEY_MAX_AGE", server_default("OAUTH2_SIGNING_KEY_MAX_AGE")
)
OAUTH2_SIGNING_KEY_LEAD_TIME = env_int(
    "OAUTH2_SIGNING_KEY_LEAD_TIME", server_default("OAUTH2_SIGNING_KEY_LEAD_TIME")
)
# What server.oauth2.OAuthMiddleware checks bearer tokens with (only read if it is installed):
# a dotted path to a ResourceProtector, else a token model "app_label.Model". Empty: unset.
OAUTH2_RESOURCE_PROTECTOR = os.environ.get("OAUTH2_RESOURCE_PROTECTOR", "")
OAUTH2_TOKEN_MODEL = os.environ.get("OAUTH2_TOKEN_MODEL", "")
# The scopes this server knows, with the text the consent page shows (server/conf.py's; a project
# sets its own dict here). Clients can only be given, and can only request, scopes listed here.
OAUTH2_SCOPES = dict(server_default("OAUTH2_SCOPES"))
# What a request that names no scope gets (RFC 6749 §3.3 "pre-defined default"), narrowed to
# the scopes the client may have; never "everything the client may have", so that leaving the
# scope out can never ask for more than the consent page shows. Space- or comma-separated; empty:
# a request without a scope is refused with invalid_scope.
OAUTH2_DEFAULT_SCOPES = (
    os.environ.get("OAUTH2_DEFAULT_SCOPES", " ".join(server_default("OAUTH2_DEFAULT_SCOPES")))
    .replace(",", " ")
    .split()
)
if set(OAUTH2_DEFAULT_SCOPES) - set(OAUTH2_SCOPES):
    raise ImproperlyConfigured(
        f"OAUTH2_DEFAULT_SCOPES names scopes that are not in OAUTH2_SCOPES: "
        f"{' '.join(sorted(set(OAUTH2_DEFAULT_SCOPES) - set(OAUTH2_SCOPES)))}."
    )

# Dynamic client registration (RFC 7591/7592). Off: registering needs an initial access token
# that an operator issued in the admin. On: anyone may register (user-facing grants only).
OAUTH2_OPEN_REGISTRATION = env_bool("OAUTH2_OPEN_REGISTRATION", server_default("OAUTH2_OPEN_REGISTRATION"))
# Dynamically registered clients start active (an operator vouched for them by issuing the
# initial access token); turn off to make them wait for approval like portal apps.
OAUTH2_DCR_AUTO_APPROVE = env_bool("OAUTH2_DCR_AUTO_APPROVE", server_default("OAUTH2_DCR_AUTO_APPROVE"))

# PostgreSQL: the protocol hot paths' statements (server/hotpath/sql.py) are prepared once per
# connection. Turn off behind a transaction-mode pooler that cannot keep prepared statements
# (PgBouncer before 1.21, or without max_prepared_statements).
OAUTH2_PREPARED_STATEMENTS = env_bool(
    "OAUTH2_PREPARED_STATEMENTS", server_default("OAUTH2_PREPARED_STATEMENTS")
)

# Rate limits (server/ratelimit.py, docs/security.md): "count/seconds" per fixed window, counted
# in the cache (use Redis in production, so every worker shares the counters). Override one
# with OAUTH2_RATE_LIMIT_<NAME>, e.g. OAUTH2_RATE_LIMIT_TOKEN_IP=600/60; "off" turns it off.
OAUTH2_RATE_LIMIT_ENABLED = env_bool("OAUTH2_RATE_LIMIT_ENABLED", server_default("OAUTH2_RATE_LIMIT_ENABLED"))
OAUTH2_RATE_LIMITS = {
    name: os.environ.get(f"OAUTH2_RATE_LIMIT_{name.upper()}", default)
    for name, default in server_default("OAUTH2_RATE_LIMITS").items()
}
for _name, _rate in OAUTH2_RATE_LIMITS.items():
    if not re.fullmatch(r"\s*(off|none|0|[1-9][0-9]*/[1-9][0-9]*)?\s*", _rate, re.IGNORECASE):
        raise ImproperlyConfigured(
            f"OAUTH2_RATE_LIMIT_{_name.upper()} must look like 30/60 (count/seconds) or off, got {_rate!r}."
        )
# How long an address a client authenticated from stays exempt from that client's
# across-addresses lockout, and an address or browser a user signed in from stays exempt from
# that account's sign-in lockout (seconds).
OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL = env_int(
    "OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL", server_default("OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL")
)
# The cache alias holding the counters.
OAUTH2_RATE_LIMIT_CACHE = os.environ.get("OAUTH2_RATE_LIMIT_CACHE", server_default("OAUTH2_RATE_LIMIT_CACHE"))

# private_key_jwt (docs/oidc.md): the cache that remembers used assertion jtis (shared: Redis),
# and the SSRF guard of outbound requests (server/outbound.py, docs/security.md): internal
# networks it may reach anyway (comma-separated CIDRs), a CA bundle, a time limit.
OAUTH2_REPLAY_CACHE = os.environ.get("OAUTH2_REPLAY_CACHE", server_default("OAUTH2_REPLAY_CACHE"))
OAUTH2_CLIENT_ASSERTION_MAX_LIFETIME = env_int(
    "OAUTH2_CLIENT_ASSERTION_MAX_LIFETIME", server_default("OAUTH2_CLIENT_ASSERTION_MAX_LIFETIME")
)
OAUTH2_OUTBOUND_ALLOWED_NETWORKS = env_list(
    "OAUTH2_OUTBOUND_ALLOWED_NETWORKS", list(server_default("OAUTH2_OUTBOUND_ALLOWED_NETWORKS"))
)
OAUTH2_OUTBOUND_CA_BUNDLE = os.environ.get(
    "OAUTH2_OUTBOUND_CA_BUNDLE", server_default("OAUTH2_OUTBOUND_CA_BUNDLE")
)
OAUTH2_OUTBOUND_TIMEOUT = env_int("OAUTH2_OUTBOUND_TIMEOUT", server_default("OAUTH2_OUTBOUND_TIMEOUT"))

# --- Console ----------------------------------------------------------------------------------

# Developer portal: may anyone create an account at /developers/signup/? Off: operators create
# accounts. Apps registered in the portal wait for an operator's approval unless auto-approved.
PORTAL_SELF_SIGNUP = env_bool("PORTAL_SELF_SIGNUP", False)
PORTAL_AUTO_APPROVE = env_bool("PORTAL_AUTO_APPROVE", False)

# Operator console: lists count rows exactly up to this many, then say "more than N" (an exact
# COUNT(*) over a million tokens costs more than the page itself).
CONSOLE_EXACT_COUNT_LIMIT = env_int("CONSOLE_EXACT_COUNT_LIMIT", 10_000)
# Seconds the dashboard's charts are cached (0: computed on every view).
CONSOLE_DASHBOARD_CACHE_SECONDS = env_int("CONSOLE_DASHBOARD_CACHE_SECONDS", 60)
# Client imports: files larger or longer than this are refused with a message. Every row goes
# through create_client twice (preview, then save), each within one request: the defaults keep
# both well inside gunicorn's 30-second timeout.
CONSOLE_IMPORT_MAX_BYTES = env_int("CONSOLE_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
CONSOLE_IMPORT_MAX_ROWS = env_int("CONSOLE_IMPORT_MAX_ROWS", 1_000)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Security audit log (docs/audit.md). A bearer token's use is recorded at most once per token per
# this many seconds (0: every use), which also bounds how often its last_used_at is written.
AUDIT_TOKEN_USE_INTERVAL = env_int("AUDIT_TOKEN_USE_INTERVAL", 300)
# Likewise a client's successful authentication that issues nothing (introspection, revocation):
# recorded at most once per client, endpoint and address per this many seconds (0: every time).
# Failed authentications are always recorded.
AUDIT_CLIENT_AUTH_INTERVAL = env_int("AUDIT_CLIENT_AUTH_INTERVAL", 300)
# HMAC key of the tamper-evidence chain; empty: derived from SECRET_KEY. Set it separately so
# that rotating SECRET_KEY does not make the existing log fail verification.
AUDIT_HASH_KEY = os.environ.get("AUDIT_HASH_KEY", "")
# Write a checkpoint from the write path every this many events (0: only `seal_audit_log`), and
# seal only events at least this many seconds old, so transactions still open are not skipped.
AUDIT_CHECKPOINT_EVERY = env_int("AUDIT_CHECKPOINT_EVERY", 1000)
AUDIT_CHECKPOINT_DELAY = env_int("AUDIT_CHECKPOINT_DELAY", 60)
# Trusted reverse proxies in front of the app: the client IP is the X-Forwarded-For entry the
# outermost one added. 0: use REMOTE_ADDR (a client could otherwise forge its address).
AUDIT_PROXY_COUNT = env_int("AUDIT_PROXY_COUNT", 0)
# Off (the default): an event that reports a write commits in that write's transaction, so a
# crash loses neither without the other. On: events go to a background thread that writes them
# in batches (oauth_console/audit/writer.py): faster, but the events of the last
# AUDIT_WRITE_DELAY_MS are lost if a process is killed (SIGKILL, OOM, power loss). Durability
# traded for speed; docs/audit.md.
AUDIT_WRITE_BEHIND = env_bool("AUDIT_WRITE_BEHIND", False)
AUDIT_WRITE_DELAY_MS = env_int("AUDIT_WRITE_DELAY_MS", 200)
AUDIT_WRITE_BATCH = env_int("AUDIT_WRITE_BATCH", 500)
# The same for rate limiting's idea of the client address (defaults to the audit log's).
OAUTH2_RATE_LIMIT_PROXY_COUNT = env_int("OAUTH2_RATE_LIMIT_PROXY_COUNT", AUDIT_PROXY_COUNT)

# --- Operations -------------------------------------------------------------------------------
# /healthz, /readyz and /metrics (docs/operations.md). /metrics is served to a request that
# passes both rules set here: its address (as the rate limiter reads it, so behind a proxy the
# client's, not the proxy's) is in METRICS_ALLOWED_NETWORKS, if that is not empty, and it carries
# `Authorization: Bearer <METRICS_TOKEN>`, if that is set. Both empty: /metrics is closed (403).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
try:
    for _network in METRICS_ALLOWED_NETWORKS:
        ipaddress.ip_network(_network, strict=False)
except ValueError as _exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_exc}") from _exc
# client_ids that get a `client` label of their own in oauth_tokens_issued_total (every other
# client counts as "other"): list the few worth a graph, so the series stay bounded.
METRICS_CLIENT_LABELS = env_list("METRICS_CLIENT_LABELS", [])

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
