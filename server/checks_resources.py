"""System checks of the APIs (resource servers, RFC 8707) and the tokens issued for them: the
default API's scopes, APIs no client may ask for, JWT access tokens (RFC 9068). Registered with
the rest in server/checks.py."""

from django.core.checks import CheckMessage, Error, Warning

from server.checks_common import ISSUER_HINT
from server.conf import server_settings


def check_default_api_scopes(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E014: OAUTH2_SCOPES, the default API's scopes (RFC 9728 `scopes_supported` of this
    server's API, the consent page's groups), holds a name that is not an RFC 6749 §3.3
    scope-token, or a description people may not be shown."""
    from server.api_policy import validate_api_scopes
    from server.policy_rules import PolicyError

    try:
        validate_api_scopes(dict(server_settings.OAUTH2_SCOPES), default_api=True)
    except (PolicyError, TypeError, ValueError) as error:
        return [
            Error(
                f"OAUTH2_SCOPES cannot be the default API's scopes: {error}",
                hint="Scope names are printable ASCII without spaces, quotes or backslashes; "
                "descriptions at most 200 characters without control characters.",
                id="server.E014",
            )
        ]
    return []


def check_apis_reachable(app_configs=None, databases=None, **kwargs) -> list[CheckMessage]:
    """server.W009 (`check --database default`): an API (resource server) no client may ask for
    (no allowed clients, not open to any client): every request naming it is invalid_target."""
    if not databases:
        return []
    from django.db import DatabaseError

    from server.models import Api

    try:
        names = list(
            Api.objects.filter(is_default=False, allow_any_client=False, allowed_clients__isnull=True)
            .values_list("identifier", flat=True)
            .distinct()[:10]
        )
    except DatabaseError:
        return []  # not migrated yet: `migrate` runs the database checks before it starts
    if not names:
        return []
    return [
        Warning(
            f"No client may ask for these APIs: {' '.join(names)}.",
            hint="Allow clients on each API's page (or 'any client'), or delete the API.",
            id="server.W009",
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
