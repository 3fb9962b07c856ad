"""The issuer identifier this server speaks as (RFC 8414, RFC 9207): one rule for every module."""

from django.http import HttpRequest

from server.conf import server_settings


def issuer_for(request: HttpRequest | None) -> str:
    """The issuer identifier: OAUTH2_ISSUER, else this request's scheme and host."""
    configured = server_settings.OAUTH2_ISSUER
    # A request built outside HTTP (Django's test client's logout(), code calling logout() with
    # a bare HttpRequest) has no host to derive an issuer from: the configured one ("" in
    # development), rather than a KeyError from get_host().
    if (
        configured
        or request is None
        or not (request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME"))
    ):
        return configured
    # Remembered on the request: Host validation is not free, and a bearer check asks twice
    # (the protector's resource, the token's default audience).
    origin = request.__dict__.get("_oauth2_origin")
    if origin is None:
        origin = request.__dict__["_oauth2_origin"] = f"{request.scheme}://{request.get_host()}"
    return origin
