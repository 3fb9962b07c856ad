"""RFC 9728 protected resource metadata: what a ResourceProtector publishes about the API it guards.

A resource is named by its identifier (an absolute https URI, `resource`); its metadata lives at
the identifier's origin with `/.well-known/oauth-protected-resource` inserted before its path
(§3.1): `https://api.example.com/v1` -> `https://api.example.com/.well-known/oauth-protected-resource/v1`.
The document's `resource` must equal that identifier (§3.3), which clients check. A protector
configured with a path (`resource="/api"`) names a resource of the authorization server's own
origin (the OAUTH2_ISSUER setting, else the request's scheme and host).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import method_not_allowed

__all__ = ["WELL_KNOWN", "ProtectedResource", "metadata_path_for", "metadata_url_for"]

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def _origin(request: HttpRequest | None) -> str:
    issuer = (getattr(settings, "OAUTH2_ISSUER", "") or "").rstrip("/")
    if issuer or request is None:
        return issuer
    # Remembered on the request (Host validation is not free; a bearer check asks twice).
    origin = request.__dict__.get("_oauth2_origin")
    if origin is None:
        origin = request.__dict__["_oauth2_origin"] = f"{request.scheme}://{request.get_host()}"
    return origin


def metadata_path_for(identifier: str) -> str:
    """The path of `identifier`'s metadata document on its origin (RFC 9728 §3.1)."""
    path = urlsplit(identifier).path.rstrip("/")
    return WELL_KNOWN + path


def metadata_url_for(identifier: str) -> str:
    """The URL of `identifier`'s metadata document (RFC 9728 §3.1)."""
    parts = urlsplit(identifier)
    return f"{parts.scheme}://{parts.netloc}{metadata_path_for(identifier)}"


def _check_configured(resource: str) -> None:
    if any(ch in resource for ch in '"\\#? \t\r\n'):
        raise ImproperlyConfigured(
            "A protected resource's identifier has no quote, backslash, fragment, query or space: "
            f"{resource!r}"
        )
    if not resource.startswith("/"):
        parts = urlsplit(resource)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ImproperlyConfigured(
                f"A protected resource is an absolute http(s) URI or a path: {resource!r}"
            )


class ProtectedResource:
    """The resource a protector guards: its identifier and RFC 9728 metadata.

    `resource`: an absolute URI, or a path on the authorization server's origin ("/api");
    `authorization_servers`: issuer identifiers (default: the OAUTH2_ISSUER setting, else the
    request's origin); `scopes_supported`: a list, or a callable returning one (read per
    request); `resource_name`: for people; `bearer_methods_supported`: RFC 6750 methods.
    """

    def __init__(
        self,
        resource: str,
        *,
        authorization_servers: Iterable[str] | None = None,
        scopes_supported: Iterable[str] | Callable[[], Iterable[str]] | None = None,
        resource_name: str | None = None,
        bearer_methods_supported: Iterable[str] = ("header",),
        extra: dict[str, Any] | None = None,
    ) -> None:
        _check_configured(resource)
        self.resource = resource
        self.authorization_servers = list(authorization_servers) if authorization_servers else None
        self.scopes_supported = scopes_supported
        self.resource_name = resource_name
        self.bearer_methods_supported = list(bearer_methods_supported)
        self.extra = dict(extra or {})

    def identifier(self, request: HttpRequest | None) -> str:
        """The resource identifier (the tokens' audience) as seen by `request`."""
        if self.resource.startswith("/"):
            return _origin(request) + self.resource
        return self.resource

    @property
    def metadata_path(self) -> str:
        """The path to route the metadata view at (on the resource's own origin)."""
        return metadata_path_for(self.resource)

    def metadata_url(self, request: HttpRequest | None) -> str:
        return metadata_url_for(self.identifier(request))

    def metadata(self, request: HttpRequest | None) -> dict[str, Any]:
        """The RFC 9728 §2 document."""
        scopes = self.scopes_supported() if callable(self.scopes_supported) else self.scopes_supported
        document: dict[str, Any] = {
            "resource": self.identifier(request),
            "authorization_servers": self.authorization_servers or [_origin(request)],
        }
        if scopes is not None:
            document["scopes_supported"] = list(scopes)
        document["bearer_methods_supported"] = self.bearer_methods_supported
        if self.resource_name:
            document["resource_name"] = self.resource_name
        document.update(self.extra)
        return document

    def metadata_view(self, request: HttpRequest) -> HttpResponse:
        """GET the document (§3.2): JSON, public, cacheable, readable from any origin."""
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed(("GET", "HEAD"))
        response = JsonResponse(self.metadata(request))
        response["Cache-Control"] = "public, max-age=3600"
        response["Access-Control-Allow-Origin"] = "*"
        return response
