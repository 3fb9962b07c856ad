"""The issuer identifier this server speaks as (RFC 8414, RFC 9207): one rule for every module."""

from django.http import HttpRequest

from server.conf import server_settings


def issuer_for(request: HttpRequest | None) -> str:
    """The issuer identifier: OAUTH2_ISSUER, else this request's scheme and host."""
    configured = server_settings.OAUTH2_ISSUER
    if configured or request is None:
        return configured
    # Remembered on the request: Host validation is not free, and a bearer check asks twice
    # (the protector's resource, the token's default audience).
    origin = request.__dict__.get("_oauth2_origin")
    if origin is None:
        origin = request.__dict__["_oauth2_origin"] = f"{request.scheme}://{request.get_host()}"
    return origin
