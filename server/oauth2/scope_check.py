"""The effective scope of a request, resolved once: the client's own scopes plus, with RFC 8707,
the scopes the resources it named define (`resource_indicators`). The authorization, client
credentials and device authorization requests use this one rule."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list

from .errors import clean_error_text
from .resource_indicators import ResourceIndicators

__all__ = ["resolve_scope"]


def resolve_scope(
    client: Any, requested_scope: str | None, also_allowed: frozenset[str] = frozenset()
) -> str:
    """The effective scope of a request by `client` naming `requested_scope`.

    `also_allowed`: scopes the request may name besides the client's own (those that the
    resources it named, RFC 8707, define for it).

    A requested scope the client may not have is invalid_scope, never silently narrowed. With no
    scope requested, the effective scope is `client.get_allowed_scope(None)` (the client's
    default); None there is invalid_scope. The authorization endpoint and the device
    authorization endpoint (RFC 8628) resolve scope with this one rule.
    """
    requested = scope_to_list(requested_scope) or []
    if not requested:
        default = client.get_allowed_scope(None)
        if default is None:
            raise InvalidScopeError(
                "No scope was requested and this client has no default scope; "
                "name the scopes you need in the 'scope' parameter."
            )
        return default
    own = [s for s in requested if s not in also_allowed]
    allowed = client.get_allowed_scope(" ".join(own)) if own else ""
    if allowed is None:
        raise InvalidScopeError()
    granted = set(scope_to_list(allowed) or []) | set(also_allowed)
    refused = [s for s in requested if s not in granted]
    if refused:
        names = clean_error_text(" ".join(refused), limit=100)
        raise InvalidScopeError(f"The client may not request: {names}.")
    return " ".join(dict.fromkeys(requested)) if also_allowed else allowed


class _ScopeCheck(ResourceIndicators):
    """Resolves the request's resources (RFC 8707, `request.resources`) and then its effective
    scope once (`resolve_scope`), into `request.scope`.

    Everything after this (the consent check and page, the stored code, the token) must read
    `request.scope`, never the raw `payload.scope`.
    """

    def validate_requested_scope(self) -> None:
        super().validate_requested_scope()
        client = self.request.client
        if client is None:
            return
        resolved = self.resolve_resources()
        scope = resolve_scope(client, self.request.payload.scope, resolved.scopes)
        self.request.scope = self.request.resolved_scope = scope


def _keep_resolved_scope(grant: Any, _result: Any) -> None:
    # authlib sets request.scope to client.get_allowed_scope() after validate_requested_scope,
    # which knows nothing of the scopes a named resource defines: keep the one resolved.
    resolved = getattr(grant.request, "resolved_scope", None)
    if resolved is not None:
        grant.request.scope = resolved
