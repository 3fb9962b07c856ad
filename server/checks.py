"""System checks of the server's settings: misconfiguration becomes a `manage.py check` message
(run by `check`, `migrate` and `runserver`), not a surprise in production.

Registered in `ServerConfig.ready`. Ids: server.E001 ... (errors), server.W001 ... (warnings);
the warnings are deployment checks (`check --deploy`), each about a production setting (DEBUG off).
Settings are read through server/conf.py, so an unset one is checked at its default.
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning

from server.conf import server_settings

ISSUER_HINT = (
    "Set OAUTH2_ISSUER to the server's public https origin, e.g. "
    "OAUTH2_ISSUER=https://auth.example.com (docs/deployment.md)."
)


def check_issuer(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E001: DEBUG is off and OAUTH2_ISSUER is unset. server.E002: it is not an https URL
    without query and fragment (RFC 8414 §2).

    Without a configured issuer the server derives it from each request's Host header: behind a
    proxy or under several host names it is not one stable value, and a client that compares
    `iss` (RFC 9207, the mix-up defence) can be told a name the caller chose.
    """
    issuer = server_settings.OAUTH2_ISSUER or ""
    if not issuer:
        if settings.DEBUG:
            return []
        return [
            Error(
                "OAUTH2_ISSUER is not set: the issuer would come from each request's Host header.",
                hint=ISSUER_HINT,
                id="server.E001",
            )
        ]
    parts = urlsplit(issuer)
    https = parts.scheme == "https" or (settings.DEBUG and parts.scheme == "http")
    if not https or not parts.netloc or parts.query or parts.fragment or "#" in issuer:
        return [
            Error(
                f"OAUTH2_ISSUER={issuer!r} is not an https URL without query and fragment (RFC 8414 §2).",
                hint=ISSUER_HINT,
                id="server.E002",
            )
        ]
    return []


def check_rate_limits(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E003: a rate in OAUTH2_RATE_LIMITS that the limiter cannot read (it would fail on
    the first request it counts). server.E005: OAUTH2_RATE_LIMIT_CACHE names no cache."""
    from server.ratelimit.counters import Rate

    messages: list[CheckMessage] = []
    for name, text in server_settings.OAUTH2_RATE_LIMITS.items():
        try:
            Rate.parse(text)
        except (AttributeError, TypeError, ValueError):  # what the limiter would raise
            messages.append(
                Error(
                    f"OAUTH2_RATE_LIMITS[{name!r}] = {text!r} is not a rate.",
                    hint=f'Write "count/seconds", e.g. "30/60", or "off" '
                    f"(environment: OAUTH2_RATE_LIMIT_{name.upper()}).",
                    id="server.E003",
                )
            )
    alias = server_settings.OAUTH2_RATE_LIMIT_CACHE
    if alias not in settings.CACHES:
        messages.append(
            Error(
                f"OAUTH2_RATE_LIMIT_CACHE={alias!r} is not a cache in CACHES.",
                hint=f"Name one of: {', '.join(settings.CACHES) or '(none)'}.",
                id="server.E005",
            )
        )
    return messages


def check_default_scopes(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E004: OAUTH2_DEFAULT_SCOPES names a scope OAUTH2_SCOPES does not define: a request
    without a scope would be given something the consent page cannot describe."""
    unknown = sorted(set(server_settings.OAUTH2_DEFAULT_SCOPES) - set(server_settings.OAUTH2_SCOPES))
    if not unknown:
        return []
    return [
        Error(
            f"OAUTH2_DEFAULT_SCOPES names scopes that are not in OAUTH2_SCOPES: {' '.join(unknown)}.",
            hint="Add them to OAUTH2_SCOPES (with the text the consent page shows) or drop them.",
            id="server.E004",
        )
    ]


def check_operator_scopes(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E010: a scope is both an ordinary scope (OAUTH2_SCOPES: the consent page offers
    it, any client may be given it) and an operator scope (OAUTH2_OPERATOR_SCOPES: the operator
    API's), so an end user's consent or a developer's app could reach the console's writes."""
    both = sorted(set(server_settings.OAUTH2_SCOPES) & set(server_settings.OAUTH2_OPERATOR_SCOPES))
    if not both:
        return []
    return [
        Error(
            f"These scopes are in both OAUTH2_SCOPES and OAUTH2_OPERATOR_SCOPES: {' '.join(both)}.",
            hint="Operator scopes are granted by an operator only: remove them from OAUTH2_SCOPES.",
            id="server.E010",
        )
    ]


def check_https_required(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.W001 (deploy): DEBUG is off but the protocol endpoints accept plain HTTP, where
    secrets, codes and tokens travel in the clear (RFC 6749 §10.9, RFC 9700 §2.6)."""
    if settings.DEBUG or server_settings.OAUTH2_REQUIRE_HTTPS:
        return []
    return [
        Warning(
            "OAUTH2_REQUIRE_HTTPS is off with DEBUG off: the protocol endpoints accept plain HTTP.",
            hint="Unset OAUTH2_REQUIRE_HTTPS (on by default with DEBUG off); behind a TLS proxy, "
            "set SECURE_PROXY_SSL_HEADER so proxied HTTPS requests count as secure.",
            id="server.W001",
        )
    ]


# Caches whose counters are not shared between processes (or not kept at all).
_PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def check_shared_rate_limit_cache(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.W002 (deploy): the rate limiter counts in a per-process cache: with N workers every
    limit and lockout is N times looser, and a restart forgets them."""
    alias = server_settings.OAUTH2_RATE_LIMIT_CACHE
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if settings.DEBUG or backend not in _PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            f"The rate-limit cache {alias!r} is {backend.rsplit('.', 1)[-1]}: rate limits and "
            "lockouts are counted per process.",
            hint="Use a shared cache: set REDIS_URL=redis://host:6379/0 (docs/deployment.md), or "
            "point OAUTH2_RATE_LIMIT_CACHE at one.",
            id="server.W002",
        )
    ]


def check_credential_key(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.W003 (deploy): the digests of every secret and token are keyed from SECRET_KEY, so
    rotating SECRET_KEY (after a leak, say) would invalidate every credential at once."""
    if settings.DEBUG or server_settings.OAUTH2_CREDENTIAL_KEY:
        return []
    return [
        Warning(
            "OAUTH2_CREDENTIAL_KEY is not set: the credential digests are keyed from SECRET_KEY.",
            hint="Set OAUTH2_CREDENTIAL_KEY to its own long random value before issuing "
            "credentials (changing it later invalidates the existing ones).",
            id="server.W003",
        )
    ]


def check_key_encryption_key(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.W004 (deploy): the signing keys' private halves are encrypted under a key derived
    from SECRET_KEY, so rotating SECRET_KEY would leave the server unable to read them."""
    if settings.DEBUG or server_settings.OAUTH2_KEY_ENCRYPTION_KEY or server_settings.OAUTH2_CREDENTIAL_KEY:
        return []
    return [
        Warning(
            "Neither OAUTH2_KEY_ENCRYPTION_KEY nor OAUTH2_CREDENTIAL_KEY is set: the signing keys "
            "are encrypted under a key derived from SECRET_KEY.",
            hint="Set OAUTH2_KEY_ENCRYPTION_KEY to its own long random value before the first key "
            "is made (changing it later makes the stored keys unreadable: rotate them).",
            id="server.W004",
        )
    ]


def check_jwks_max_age(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E006: a relying party may cache the JWKS for OAUTH2_JWKS_MAX_AGE seconds; a next
    key published for less than that could sign tokens a cached JWKS cannot verify."""
    max_age = server_settings.OAUTH2_JWKS_MAX_AGE
    lead = server_settings.OAUTH2_SIGNING_KEY_LEAD_TIME
    if isinstance(max_age, int) and isinstance(lead, int) and 0 <= max_age < lead:
        return []
    return [
        Error(
            f"OAUTH2_JWKS_MAX_AGE ({max_age!r}) must be a whole number of seconds shorter than "
            f"OAUTH2_SIGNING_KEY_LEAD_TIME ({lead!r}).",
            hint="A relying party caching the JWKS must see a next key before it signs anything.",
            id="server.E006",
        )
    ]


def check_signing_key_max_age(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E007: automatic rotation activates the next key only after the lead time, so a
    maximum age at or under it could never be kept."""
    max_age = server_settings.OAUTH2_SIGNING_KEY_MAX_AGE
    lead = server_settings.OAUTH2_SIGNING_KEY_LEAD_TIME
    whole = isinstance(max_age, int) and not isinstance(max_age, bool) and max_age >= 0
    if whole and (max_age == 0 or not isinstance(lead, int) or max_age > lead):
        return []
    return [
        Error(
            f"OAUTH2_SIGNING_KEY_MAX_AGE ({max_age!r}) must be 0 (off) or a whole number of seconds "
            f"longer than OAUTH2_SIGNING_KEY_LEAD_TIME ({lead!r}).",
            hint="A next key is published for the lead time before it signs; e.g. 90 days (7776000).",
            id="server.E007",
        )
    ]


def check_client_assertion_settings(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E008: OAUTH2_REPLAY_CACHE names no cache. server.E009: an entry of
    OAUTH2_OUTBOUND_ALLOWED_NETWORKS is not a network (the SSRF guard would fail on every fetch)."""
    messages: list[CheckMessage] = []
    alias = server_settings.OAUTH2_REPLAY_CACHE
    if alias not in settings.CACHES:
        messages.append(
            Error(
                f"OAUTH2_REPLAY_CACHE={alias!r} is not a cache in CACHES.",
                hint=f"Name one of: {', '.join(settings.CACHES) or '(none)'}.",
                id="server.E008",
            )
        )
    networks = server_settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS
    for network in [networks] if isinstance(networks, str) else networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            messages.append(
                Error(
                    f"OAUTH2_OUTBOUND_ALLOWED_NETWORKS holds {network!r}, which is not a network.",
                    hint='Use a list of CIDR strings, e.g. ["10.1.2.0/24"], or leave it empty.',
                    id="server.E009",
                )
            )
    return messages


def check_shared_replay_cache(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.W005 (deploy): used client-assertion jtis are remembered per process, so an
    assertion replayed to another worker is accepted."""
    alias = server_settings.OAUTH2_REPLAY_CACHE
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if settings.DEBUG or backend not in _PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            f"The replay cache {alias!r} is {backend.rsplit('.', 1)[-1]}: a private_key_jwt assertion "
            "replayed to another worker process is accepted.",
            hint="Use a shared cache: set REDIS_URL=redis://host:6379/0, or point OAUTH2_REPLAY_CACHE "
            "at one.",
            id="server.W005",
        )
    ]


def check_logout_queue(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E011: the task backend does not take the back-channel logout queue
    (OAUTH2_LOGOUT_QUEUE), so every logout that should notify a client would fail. The immediate
    backend (django-tasks' default without TASKS) is exempt: deliveries run at once there, on
    its default queue (check server.W006)."""
    from django_tasks import task_backends
    from django_tasks.backends.immediate import ImmediateBackend
    from django_tasks.exceptions import InvalidTaskBackendError

    queue = server_settings.OAUTH2_LOGOUT_QUEUE
    try:
        backend = task_backends["default"]
    except InvalidTaskBackendError as error:
        return [Error(f"The task backend cannot be loaded: {error}", id="server.E011")]
    if isinstance(backend, ImmediateBackend) or not backend.queues or queue in backend.queues:
        return []
    return [
        Error(
            f"OAUTH2_LOGOUT_QUEUE={queue!r} is not a queue of the task backend "
            f"({', '.join(sorted(backend.queues))}): back-channel logout could not be queued.",
            hint="Add it to TASKS['default']['QUEUES'], or set OAUTH2_LOGOUT_QUEUE to one of them.",
            id="server.E011",
        )
    ]


def check_logout_worker(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.W006 (deploy): with django-tasks' immediate backend (no TASKS configured), the
    calls to other parties (back-channel logout, webhook deliveries) run inside the request that
    caused them, once, without retries."""
    from django_tasks import task_backends
    from django_tasks.backends.immediate import ImmediateBackend
    from django_tasks.exceptions import InvalidTaskBackendError

    try:
        immediate = isinstance(task_backends["default"], ImmediateBackend)
    except InvalidTaskBackendError:
        return []  # server.E011 says so
    if settings.DEBUG or not immediate:
        return []
    return [
        Warning(
            "Tasks run at once in the calling process (django-tasks' immediate backend): a "
            "back-channel logout or a webhook delivery is POSTed inside the request that caused "
            "it, blocking it, once, and never retried.",
            hint="Configure TASKS with a worker backend (django_tasks_db.DatabaseBackend, queues "
            "default, logout and webhooks) and run `manage.py db_worker` (docs/deployment.md).",
            id="server.W006",
        )
    ]


def check_access_token_format(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E015: OAUTH2_ACCESS_TOKEN_FORMAT is neither "opaque" nor "jwt", or is "jwt" with
    no OAUTH2_ISSUER: a JWT's `iss` must be one stable value that resource servers compare."""
    from server.token_format import FORMATS

    token_format = server_settings.OAUTH2_ACCESS_TOKEN_FORMAT
    if token_format not in FORMATS:
        return [
            Error(
                f"OAUTH2_ACCESS_TOKEN_FORMAT={token_format!r} is not one of {', '.join(FORMATS)}.",
                hint='Set it to "opaque" (the default) or "jwt" (RFC 9068, docs/jwt-access-tokens.md).',
                id="server.E015",
            )
        ]
    if token_format == "jwt" and not server_settings.OAUTH2_ISSUER:
        return [
            Error(
                "OAUTH2_ACCESS_TOKEN_FORMAT is jwt but OAUTH2_ISSUER is not set: the tokens' iss "
                "would have no stable value for resource servers to check.",
                hint=ISSUER_HINT,
                id="server.E015",
            )
        ]
    return []


def check_jwt_access_token_lifetime(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.W010 (deploy): JWT access tokens are validated offline, so a revoked one keeps
    working at other resource servers until it expires; over an hour is a long window."""
    lifetime = server_settings.OAUTH2_ACCESS_TOKEN_LIFETIME
    jwt = server_settings.OAUTH2_ACCESS_TOKEN_FORMAT == "jwt"
    if not jwt or not isinstance(lifetime, int) or lifetime <= 3600:
        return []
    return [
        Warning(
            f"JWT access tokens live {lifetime} s: a revoked one is still accepted by resource servers "
            "that validate it offline until it expires.",
            hint="Lower OAUTH2_ACCESS_TOKEN_LIFETIME (e.g. 300-900 s; clients refresh), or have the "
            "resource servers introspect (docs/jwt-access-tokens.md).",
            id="server.W010",
        )
    ]


_WEBHOOK_POSITIVE = (
    "OAUTH2_WEBHOOK_TIMEOUT",
    "OAUTH2_WEBHOOK_MAX_RESPONSE_BYTES",
    "OAUTH2_WEBHOOK_MAX_ATTEMPTS",
    "OAUTH2_WEBHOOK_MAX_RETRY_DELAY",
)
_WEBHOOK_NOT_NEGATIVE = ("OAUTH2_WEBHOOK_RETRY_DELAY", "OAUTH2_WEBHOOK_SECRET_OVERLAP")


def check_webhook_settings(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E013: a webhook setting that would never deliver (no attempt, no time to answer)
    or never wait (a negative delay)."""
    messages = []
    for name in (*_WEBHOOK_POSITIVE, *_WEBHOOK_NOT_NEGATIVE):
        value = getattr(server_settings, name)
        low = 1 if name in _WEBHOOK_POSITIVE else 0
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            messages.append(
                Error(
                    f"{name} is {value!r}; it must be a number of at least {low}.",
                    hint="Leave it unset for the default (docs/deployment.md, Settings).",
                    id="server.E013",
                )
            )
    return messages


# (check, tags, deploy): deploy checks run only with `check --deploy`.
CHECKS = (
    (check_issuer, (Tags.security,), False),
    (check_rate_limits, (Tags.security,), False),
    (check_default_scopes, (Tags.security,), False),
    (check_operator_scopes, (Tags.security,), False),
    (check_https_required, (Tags.security,), True),
    (check_shared_rate_limit_cache, (Tags.security, Tags.caches), True),
    (check_credential_key, (Tags.security,), True),
    (check_key_encryption_key, (Tags.security,), True),
    (check_jwks_max_age, (Tags.security,), False),
    (check_signing_key_max_age, (Tags.security,), False),
    (check_client_assertion_settings, (Tags.security, Tags.caches), False),
    (check_logout_queue, (Tags.security,), False),
    (check_logout_worker, (Tags.security,), True),
    (check_shared_replay_cache, (Tags.security, Tags.caches), True),
    (check_webhook_settings, (Tags.security,), False),
    (check_access_token_format, (Tags.security,), False),
    (check_jwt_access_token_lifetime, (Tags.security,), True),
)
