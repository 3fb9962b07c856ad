"""The issuer identifier this server speaks as (RFC 8414, RFC 9207): one rule for every module."""

from django.http import HttpRequest

from server.conf import server_settings


def issuer_for(request: HttpRequest | None) -> str:
    """The issuer identifier: OAUTH2_ISSUER, else this request's scheme and host."""
    if server_settings.OAUTH2_ISSUER or request is None:
        return server_settings.OAUTH2_ISSUER
    return f"{request.scheme}://{request.get_host()}"
