"""The effective scope of a request, resolved once: the client's own scopes plus, with RFC 8707,
the scopes the resources it named define (`resource_indicators`). The authorization, client
credentials and device authorization requests use this one rule."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.util import scope_to_list

from .errors import clean_error_text
from .resource_indicators import ResourceIndicators

__all__ = ["OFFLINE_ACCESS", "check_scope_syntax", "resolve_scope", "without_declined_offline_access"]

# OpenID Connect Core §11.
OFFLINE_ACCESS = "offline_access"
# RFC 6749 §3.3: scope-token = 1*NQCHAR (%x21 / %x23-5B / %x5D-7E), separated by spaces.
_SCOPE_CHARACTERS = frozenset(" ") | frozenset(map(chr, range(0x21, 0x7F))) - frozenset('"\\')


def check_scope_syntax(scope: str | None) -> None:
    """invalid_scope unless `scope` is RFC 6749 §3.3's: printable ASCII tokens without `"` or `\\`,
    separated by spaces. Python's str.split() also splits at no-break, ideographic and other
    Unicode spaces (and U+0085), which would read one malformed token as several scopes."""
    if scope and not _SCOPE_CHARACTERS.issuperset(scope):
        raise InvalidScopeError(
            "A scope is printable ASCII without quotes or backslashes; scopes are separated by "
            "spaces (RFC 6749 section 3.3)."
        )


def without_declined_offline_access(client: Any, requested_scope: str | None) -> str | None:
    """`requested_scope` without `offline_access` when it is an OpenID Connect request and the
    client may not have that scope (the server offers none unless an operator defines it).

    OIDC Core §3.1.2.1: scope values an implementation does not understand SHOULD be ignored;
    §11 lets the provider decline offline access. Refusing the whole sign-in (invalid_scope)
    would fail every relying party that asks for it, the conformance suite's Dynamic OP plan
    included. What was granted is in the token response's `scope`. Outside OpenID Connect the
    rule stays RFC 6749's: a scope the client may not have is invalid_scope.
    """
    requested = scope_to_list(requested_scope) or []
    if "openid" not in requested or OFFLINE_ACCESS not in requested:
        return requested_scope
    if client.get_allowed_scope(OFFLINE_ACCESS):
        return requested_scope
    return " ".join(s for s in requested if s != OFFLINE_ACCESS)


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
    check_scope_syntax(requested_scope)
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
        # Before without_declined_offline_access, which joins what it splits with plain spaces.
        check_scope_syntax(self.request.payload.scope)
        requested = without_declined_offline_access(client, self.request.payload.scope)
        scope = resolve_scope(client, requested, resolved.scopes)
        self.request.scope = self.request.resolved_scope = scope


def _keep_resolved_scope(grant: Any, _result: Any) -> None:
    # authlib sets request.scope to client.get_allowed_scope() after validate_requested_scope,
    # which knows nothing of the scopes a named resource defines: keep the one resolved.
    resolved = getattr(grant.request, "resolved_scope", None)
    if resolved is not None:
        grant.request.scope = resolved
