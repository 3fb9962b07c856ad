"""The operator REST API at /api/v1/ (docs/api.md): clients, secrets, tokens, consents, initial
access tokens, the audit log and signing keys, for Terraform, CI pipelines and scripts.

Authenticated by this server's own access tokens (a client_credentials client holding the
operator scopes `console:*`, checked by `server.bindings.require_oauth`) or, for the browsable
pages, an operator's staff session. Writes go through `server.services` with the calling client
as actor; reads through selectors. Errors are RFC 9457 problem+json (`problems`).

Modules: `auth` (who calls, which scope each endpoint needs), `problems` (errors), `base` (the
view every endpoint is: parsing, limits, unknown fields), `idempotency` (Idempotency-Key),
`selectors` (reads), `serializers`, `views/` (one module per resource), `urls`.
"""
