"""The console's settings: operator API, portal, lists, audit log, operations endpoints."""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured

from oauth_console.env import env_bool, env_int, env_list

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
