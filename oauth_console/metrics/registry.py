"""Every metric /metrics serves, with its labels. Label values are bounded: anything a caller
chooses (a grant type, an error code, a client_id) is mapped onto a fixed set, so that no request
can create a new time series.

prometheus-client picks its storage when it is first imported: plain memory, or with
PROMETHEUS_MULTIPROC_DIR set, an mmap'd file per process that /metrics sums over every worker.
The names are the interface of docs/operations.md and docs/grafana-dashboard.json.
"""

from __future__ import annotations

from django.conf import settings
from prometheus_client import Counter, Histogram, disable_created_metrics

# No `_created` series: multiprocess mode has none, and one scrape format for both is simpler.
disable_created_metrics()

# Label values outside a known set.
OTHER = "other"

# The protocol endpoints, by URL name: the latency histogram's `endpoint` label.
PROTOCOL_ENDPOINTS = frozenset(
    {
        "oauth-authorize",
        "oauth-token",
        "oauth-revoke",
        "oauth-introspect",
        "oauth-metadata",
        "oauth-register",
        "oauth-client-configuration",
        "api-me",
    }
)
GRANT_TYPES = frozenset(
    {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
)
# RFC 6749 §5.2 and §4.1.2.1, RFC 6750 §3.1, RFC 7009 §2.2.1, RFC 7591 §3.2.2, RFC 8628 §3.5.
ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "access_denied",
        "server_error",
        "temporarily_unavailable",
        "slow_down",
        "invalid_token",
        "insufficient_scope",
        "unsupported_token_type",
        "missing_authorization",
        "invalid_redirect_uri",
        "invalid_client_metadata",
    }
)
AUTH_METHODS = frozenset(
    {
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
        "none",
    }
)
# Requests take from a millisecond (a bearer check) to a second (an overloaded database).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def bounded(value: object, known: frozenset[str]) -> str:
    """`value` if it is one of `known`, else "other"."""
    return value if isinstance(value, str) and value in known else OTHER


def client_label(client_id: object) -> str:
    """The `client` label: the client_id if METRICS_CLIENT_LABELS lists it, else "other" (so a
    deployment with thousands of clients still has one series per grant type)."""
    labelled = getattr(settings, "METRICS_CLIENT_LABELS", ())
    return client_id if isinstance(client_id, str) and client_id in labelled else OTHER


def endpoint_of(request) -> str | None:
    """The protocol endpoint a request reached (its URL name), or None for any other page."""
    match = getattr(request, "resolver_match", None)
    name = getattr(match, "url_name", None)
    return name if name in PROTOCOL_ENDPOINTS else None


TOKENS_ISSUED = Counter(
    "oauth_tokens_issued",
    "Tokens issued by the token endpoint, by grant type and client (METRICS_CLIENT_LABELS).",
    ["grant_type", "client"],
)
TOKEN_REQUEST_ERRORS = Counter(
    "oauth_token_request_errors",
    "Token requests of authenticated clients refused by the grant, by grant type and error.",
    ["grant_type", "error"],
)
CLIENT_AUTHENTICATION_FAILURES = Counter(
    "oauth_client_authentication_failures",
    "Failed client authentications, by protocol endpoint and attempted method.",
    ["endpoint", "method"],
)
REVOCATIONS = Counter(
    "oauth_revocations",
    "Revocations: single and family (RFC 7009 or reuse/replay detection), bulk, consent, user, "
    "deleted_client.",
    ["kind"],
)
TOKENS_REVOKED = Counter(
    "oauth_tokens_revoked",
    "Tokens made unusable by those revocations (rows that changed), by kind.",
    ["kind"],
)
INTROSPECTIONS = Counter(
    "oauth_introspections",
    "Introspection requests of authenticated clients (RFC 7662).",
)
BEARER_CHECKS = Counter(
    "oauth_bearer_checks",
    "Bearer tokens checked at protected views, by outcome (accepted, or the RFC 6750 error).",
    ["outcome"],
)
REQUESTS_THROTTLED = Counter(
    "oauth_requests_throttled",
    "Requests refused by a rate limit, by the OAUTH2_RATE_LIMITS name that tripped.",
    ["limit"],
)
WEBHOOK_DELIVERIES = Counter(
    "oauth_webhook_deliveries",
    "Webhook delivery attempts, by outcome: delivered, failed (to be retried), dead_lettered.",
    ["outcome"],
)
AUDIT_EVENTS = Counter(
    "oauth_audit_events",
    "Audit events recorded, by type and outcome.",
    ["event_type", "outcome"],
)
BACKING_SERVICE_ERRORS = Counter(
    "oauth_backing_service_errors",
    "Requests that met a database or cache outage (protocol endpoints' 503, rate limiter's cache).",
    ["service"],
)
REQUEST_DURATION = Histogram(
    "oauth_request_duration_seconds",
    "Time to answer a protocol endpoint, by endpoint (URL name) and status class.",
    ["endpoint", "status"],
    buckets=LATENCY_BUCKETS,
)
