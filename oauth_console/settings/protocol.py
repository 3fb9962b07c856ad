"""The OAuth 2.0 / OpenID Connect server's settings, read from the environment."""

import os
import re

from django.core.exceptions import ImproperlyConfigured

from oauth_console.env import env_bool, env_int, env_list
from oauth_console.settings.base import _RUNNING_TESTS, DEBUG, SILENCED_SYSTEM_CHECKS
from server.conf import SETTINGS as SERVER_SETTINGS

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
# "opaque" or "jwt" (RFC 9068 access tokens signed with the managed keys; docs/jwt-access-tokens.md).
OAUTH2_ACCESS_TOKEN_FORMAT = os.environ.get(
    "OAUTH2_ACCESS_TOKEN_FORMAT", server_default("OAUTH2_ACCESS_TOKEN_FORMAT")
).strip()
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
# Back-channel logout deliveries (server/services/backchannel_logout.py, docs/oidc.md): the task
# queue they run on, how many attempts, the first retry's delay (doubled each time).
OAUTH2_LOGOUT_QUEUE = os.environ.get("OAUTH2_LOGOUT_QUEUE", server_default("OAUTH2_LOGOUT_QUEUE"))
OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS = env_int(
    "OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS", server_default("OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS")
)
OAUTH2_BACKCHANNEL_LOGOUT_RETRY_DELAY = env_int(
    "OAUTH2_BACKCHANNEL_LOGOUT_RETRY_DELAY", server_default("OAUTH2_BACKCHANNEL_LOGOUT_RETRY_DELAY")
)
# Webhook deliveries (docs/webhooks.md): made by the task worker through the same SSRF guard.
OAUTH2_WEBHOOK_TIMEOUT = env_int("OAUTH2_WEBHOOK_TIMEOUT", server_default("OAUTH2_WEBHOOK_TIMEOUT"))
OAUTH2_WEBHOOK_MAX_RESPONSE_BYTES = env_int(
    "OAUTH2_WEBHOOK_MAX_RESPONSE_BYTES", server_default("OAUTH2_WEBHOOK_MAX_RESPONSE_BYTES")
)
OAUTH2_WEBHOOK_MAX_ATTEMPTS = env_int(
    "OAUTH2_WEBHOOK_MAX_ATTEMPTS", server_default("OAUTH2_WEBHOOK_MAX_ATTEMPTS")
)
OAUTH2_WEBHOOK_RETRY_DELAY = env_int(
    "OAUTH2_WEBHOOK_RETRY_DELAY", server_default("OAUTH2_WEBHOOK_RETRY_DELAY")
)
OAUTH2_WEBHOOK_MAX_RETRY_DELAY = env_int(
    "OAUTH2_WEBHOOK_MAX_RETRY_DELAY", server_default("OAUTH2_WEBHOOK_MAX_RETRY_DELAY")
)
OAUTH2_WEBHOOK_SECRET_OVERLAP = env_int(
    "OAUTH2_WEBHOOK_SECRET_OVERLAP", server_default("OAUTH2_WEBHOOK_SECRET_OVERLAP")
)
