"""RFC 8707 resource indicators: the `resource` parameter of the authorization and token requests.

A client names the APIs (resource servers) a token is meant for, as absolute URIs without a
fragment (§2), one `resource` parameter each (the one parameter that may repeat). The server binds
a `ResourcePolicy` (`AuthorizationServer(resource_policy=...)`) that says which resources exist
and which a client may name; without one, `resource` is ignored, as RFC 8707 lets a server that
does not support it do. The grants resolve the request's resources once into `request.resources`
(the token's audience, what `save_token` stores) and `request.resource_lifetime`:

- authorization request (§2.1): each named resource must be known and permitted, else
  `invalid_target` (redirected to the client like any error once its redirect URI is verified);
  the scopes the named resources define may be requested besides the client's own;
- token request for a code (§2.2): the resources named must be among those the code was granted
  for (none named: all of them), else `invalid_target`;
- refresh (§2.2): likewise within the refreshed token's audience: a refresh narrows, never widens;
- client credentials: like the authorization request.

An empty audience means "the server's default resource": what a token that named none is for.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.base import OAuth2Error

from .errors import clean_error_text

__all__ = [
    "MAX_RESOURCES",
    "InvalidTargetError",
    "ResolvedResources",
    "ResourceIndicators",
    "ResourcePolicy",
    "check_resource_uri",
    "requested_resources",
    "resolve_request_resources",
]

# More than this many audiences in one token is a client confused or probing.
MAX_RESOURCES = 10
MAX_RESOURCE_LENGTH = 2048


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the requested resource is invalid, unknown, or not allowed to this client."""

    error = "invalid_target"
    status_code = 400


def check_resource_uri(value: str) -> str:
    """`value` if it is an absolute URI without a fragment (RFC 8707 §2), else InvalidTargetError."""
    if not value or len(value) > MAX_RESOURCE_LENGTH or any(ch.isspace() or ord(ch) < 0x21 for ch in value):
        raise InvalidTargetError("A 'resource' is an absolute URI without spaces.")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise InvalidTargetError("A 'resource' is an absolute URI.") from None
    if not parts.scheme or not (parts.netloc or parts.path):
        raise InvalidTargetError("A 'resource' is an absolute URI (with a scheme).")
    if "#" in value:
        raise InvalidTargetError("A 'resource' must not contain a fragment (RFC 8707 section 2).")
    return value


def requested_resources(request: Any) -> list[str]:
    """The request's `resource` values, checked (absolute URI, no fragment) and de-duplicated."""
    payload = getattr(request, "payload", None)
    datalist = getattr(payload, "datalist", None) or {}
    values = datalist.get("resource") or []
    if len(values) > MAX_RESOURCES:
        raise InvalidTargetError(f"At most {MAX_RESOURCES} 'resource' parameters.")
    return list(dict.fromkeys(check_resource_uri(value) for value in values))


@dataclass(frozen=True)
class ResolvedResources:
    """What a policy made of the named resources.

    `audience`: the identifiers to store with the code or token ([] for the default resource);
    `scopes`: the scopes those resources define that the client may request for them (beyond its
    own); `lifetime`: seconds the access token may live (None: the server's default).
    """

    audience: list[str] = field(default_factory=list)
    scopes: frozenset[str] = frozenset()
    lifetime: int | None = None


class ResourcePolicy:
    """Which resources exist and who may name them. Override `resolve`; `default_audience`
    says which identifiers a token that named none is for (what a narrowing may keep)."""

    def resolve(self, client: Any, resources: list[str], request: Any) -> ResolvedResources:
        """Resolve `resources` ([]: none named) for `client`, or raise InvalidTargetError."""
        if resources:
            raise InvalidTargetError("This server knows no resource by that name.")
        return ResolvedResources()

    def default_audience(self, request: Any) -> list[str]:
        """The identifiers of the resource a token that named none is for."""
        return []


def _unknown(values: list[str]) -> InvalidTargetError:
    names = clean_error_text(" ".join(values), limit=120)
    return InvalidTargetError(f"The resource was not granted to this code or token: {names}.")


@dataclass(frozen=True)
class Issuing:
    """The access token being generated now, as the grant resolved it: authlib calls the access
    token generator with the client, grant type, user and (client-narrowed) scope only, and a JWT
    access token (RFC 9068) needs the `aud`, `exp` and `scope` the token response will state."""

    resources: tuple[str, ...] = ()  # the RFC 8707 audience (empty: the default API)
    lifetime: int | None = None  # the API's lifetime (None: the server's)
    requested: str = ""  # the scope the grant asked the generator for
    defined: frozenset[str] = frozenset()  # the named APIs' own scopes

    def scope(self, narrowed: str | None) -> str:
        """The granted scope: what the generator narrowed to the client's own scopes, plus the
        named APIs' scopes asked for (granted for those APIs, and checked again at this grant)."""
        if not self.defined or not self.requested:
            return narrowed or ""
        kept = set((narrowed or "").split()) | self.defined
        return " ".join(value for value in self.requested.split() if value in kept)


_NOTHING_RESOLVED = Issuing()
_issuing: ContextVar[Issuing | None] = ContextVar("issuing", default=None)


def issuing_for() -> Issuing:
    """The access token being generated now (outside a grant of this package: the defaults)."""
    return _issuing.get() or _NOTHING_RESOLVED


def resolve_request_resources(
    server: Any, request: Any, within: list[str] | None = None
) -> ResolvedResources:
    """Resolve `request`'s `resource` values for `request.client` by the server's policy, into
    `request.resources`, `request.resource_lifetime` and `request.resource_scopes`.

    `within`: the audience of the code, device code or token being exchanged ([]: the default
    resource); the named resources must be among it (none named: all of it), else
    invalid_target. The one resolution of the grants and of the device authorization endpoint
    (RFC 8628, which takes `resource` as the authorization request does)."""
    policy = getattr(server, "resource_policy", None)
    if policy is None:
        request.resources, request.resource_lifetime, request.resource_scopes = [], None, frozenset()
        return ResolvedResources()
    named = requested_resources(request)
    if within is not None:
        granted = within or policy.default_audience(request)
        outside = [value for value in named if value not in granted]
        if outside:
            raise _unknown(outside)
        if not named:
            named = list(within)
    resolved = policy.resolve(request.client, named, request)
    request.resources, request.resource_lifetime = list(resolved.audience), resolved.lifetime
    request.resource_scopes = resolved.scopes
    return resolved


class ResourceIndicators:
    """The grants' half: resolve `resource` into `request.resources` and `request.resource_lifetime`.

    Mixed into the package's grants; a grant calls `resolve_resources()` at the authorization
    request or a client credentials request, and `resolve_resources(within=...)` when it
    exchanges a code or refresh token granted for `within` (its stored audience)."""

    def resolve_resources(self, within: list[str] | None = None) -> ResolvedResources:
        return resolve_request_resources(self.server, self.request, within=within)

    def generate_token(self, *args: Any, **kwargs: Any) -> dict:
        # An API's own token lifetime (RFC 8707 lets each resource set its policy).
        lifetime = getattr(self.request, "resource_lifetime", None)
        if lifetime and kwargs.get("expires_in") is None:
            kwargs["expires_in"] = lifetime
        issuing = Issuing(
            resources=tuple(getattr(self.request, "resources", None) or ()),
            lifetime=kwargs.get("expires_in"),
            requested=kwargs.get("scope") or "",
            defined=frozenset(getattr(self.request, "resource_scopes", None) or ()),
        )
        reset = _issuing.set(issuing)
        try:
            token = super().generate_token(*args, **kwargs)
        finally:
            _issuing.reset(reset)
        if issuing.defined and issuing.requested:
            token["scope"] = issuing.scope(token.get("scope"))
        return token
