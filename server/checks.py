"""System checks of the server's settings: misconfiguration becomes a `manage.py check` message
(run by `check`, `migrate` and `runserver`), not a surprise in production.

Registered in `ServerConfig.ready`. Ids: server.E001 ... (errors), server.W001 ... (warnings).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags

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
    issuer = getattr(settings, "OAUTH2_ISSUER", "") or ""
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


CHECKS = ((check_issuer, (Tags.security,)),)
