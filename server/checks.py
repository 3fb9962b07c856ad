"""System checks of the server's settings: misconfiguration becomes a `manage.py check` message
(run by `check`, `migrate` and `runserver`), not a surprise in production.

Registered in `ServerConfig.ready` (CHECKS; the APIs' and tokens' checks are in
checks_resources.py, the task queue's and webhooks' in checks_tasks.py). Ids: server.E001 ...
(errors), server.W001 ... (warnings); the warnings are deployment checks (`check --deploy`),
each about a production setting (DEBUG off). Settings are read through server/conf.py, so an
unset one is checked at its default.
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning

from server import policies
from server.checks_common import ISSUER_HINT
from server.checks_resources import (
    check_access_token_format,
    check_apis_reachable,
    check_default_api_scopes,
    check_jwt_access_token_lifetime,
)
from server.checks_tasks import check_logout_worker, check_task_queues, check_webhook_settings
from server.conf import server_settings


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
    messages: list[CheckMessage] = []
    unknown = sorted(set(server_settings.OAUTH2_DEFAULT_SCOPES) - set(server_settings.OAUTH2_SCOPES))
    if unknown:
        messages.append(
            Error(
                f"OAUTH2_DEFAULT_SCOPES names scopes that are not in OAUTH2_SCOPES: {' '.join(unknown)}.",
                hint="Add them to OAUTH2_SCOPES (with the text the consent page shows) or drop them.",
                id="server.E004",
            )
        )
    ignored = sorted(set(server_settings.OAUTH2_DEFAULT_SCOPES) & policies.NEVER_DEFAULT_SCOPES)
    if ignored:
        # server.W011: an OpenID Connect request names openid itself (policies.default_scope).
        messages.append(
            Warning(
                f"OAUTH2_DEFAULT_SCOPES names {' '.join(ignored)}, which is never a default: "
                "an OpenID Connect request names it itself.",
                hint="Drop it from OAUTH2_DEFAULT_SCOPES.",
                id="server.W011",
            )
        )
    return messages


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
    (check_task_queues, (Tags.security,), False),
    (check_logout_worker, (Tags.security,), True),
    (check_shared_replay_cache, (Tags.security, Tags.caches), True),
    (check_webhook_settings, (Tags.security,), False),
    (check_access_token_format, (Tags.security,), False),
    (check_jwt_access_token_lifetime, (Tags.security,), True),
    (check_default_api_scopes, (Tags.security,), False),
    (check_apis_reachable, (Tags.database,), False),
)
