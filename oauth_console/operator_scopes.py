"""The operator API's scopes as console permissions: which operator scopes a signed-in staff
member holds. One mapping for the operator API's session callers and the admin's client pages, so
that no door lets a person grant (or take over a client holding) a scope they could not use
themselves (the December attack review, finding 6, docs/security.md)."""

from __future__ import annotations

from oauth_console.audit import selectors as audit_selectors
from server import policies

READ_CLIENTS = "console:clients:read"
WRITE_CLIENTS = "console:clients:write"
REVOKE_TOKENS = "console:tokens:revoke"
READ_AUDIT = "console:audit:read"
WRITE_KEYS = "console:keys:write"
WRITE_WEBHOOKS = "console:webhooks:write"

# What a staff session needs instead of each scope (the admin's own permissions).
SCOPE_PERMISSIONS = {
    READ_CLIENTS: "server.view_client",
    WRITE_CLIENTS: "server.manage_clients",
    REVOKE_TOKENS: "server.revoke_tokens",
    READ_AUDIT: audit_selectors.READ_PERMISSION,
    WRITE_KEYS: "server.manage_signing_keys",
    WRITE_WEBHOOKS: "webhooks.manage_webhooks",
}


def held_by(user) -> tuple[str, ...]:
    """The operator scopes `user` holds: those whose permission they have; a superuser holds every
    configured one (OAUTH2_OPERATOR_SCOPES may name scopes no permission stands for)."""
    if getattr(user, "is_superuser", False) and getattr(user, "is_active", False):
        return tuple(policies.operator_scopes())
    return tuple(scope for scope, permission in SCOPE_PERMISSIONS.items() if user.has_perm(permission))
