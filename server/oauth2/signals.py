"""Signals sent by the OAuth 2.0 machinery. The one place that documents them.

The spec's three signals keep the spec's keyword arguments; the others are the richer events an
audit log needs. Receivers get `sender` (the class that sent it) and, where there is one, the
Django `request` that caused it. No signal ever carries a plain-text secret or token value
except `token_issued`'s `token` dict, which receivers must not store or log.

client_authenticated           client, request, method (the token endpoint auth method)
client_authentication_failed   client_id (may be None), request, method, reason, public (True:
                               the claimed client is a public one, with no secret or key to guess)
token_authenticated            token, request (a bearer token accepted at a resource)
token_revoked                  token, request, client (revoked through the RFC 7009 endpoint)
token_issued                   token (the dict sent to the client), client, user, grant_type,
                               scope, request, record (what save_token returned, if anything),
                               client_auth_method (how the client authenticated, if it did)
token_request_refused          client (authenticated), grant_type, error, description, request
                               (the grant refused a request of an authenticated client: a bad,
                               expired or revoked code or refresh token, a scope beyond it ...)
authorization_code_replayed    client, code (the stored code object), request
refresh_token_reused           client, token (the stored refresh token object), request
consent_granted                client, user, scope, request, remembered (True: no page was
                               shown, an earlier consent covered the request)
consent_denied                 client, user, scope, request
bearer_token_refused           request, error (the RFC 6750 code: "invalid_token",
                               "insufficient_scope", "invalid_request", or "missing_authorization"
                               when no bearer token was sent), status (401, 403 or 400): a
                               protected view answered the refusal (ResourceProtector.error_response)

The spec's three signals, `token_request_refused` and `bearer_token_refused` are sent with
`send_robust`: they report something that already happened (the client authenticated, the token
was accepted, the token was revoked, the request was refused), and the spec's own receivers do
side work there ("update client statistics", "update user last activity", "notify user"). A
receiver that raises is logged at ERROR with its traceback by the `django.dispatch` logger and
the protocol answer goes on; it must not turn an API call or a revocation that took effect into
a 500. The other richer events keep `send`. `token_issued` and `consent_granted` are sent inside
the transaction that stores the token (the code): a receiver's writes commit with it, or not at
all, and a receiver that raises vetoes it (rolls it back). A durable audit record belongs there.
"""

import django.dispatch

# The spec's signals.
client_authenticated = django.dispatch.Signal()  # client
token_authenticated = django.dispatch.Signal()  # token
token_revoked = django.dispatch.Signal()  # token

# Richer events.
client_authentication_failed = django.dispatch.Signal()
token_issued = django.dispatch.Signal()
token_request_refused = django.dispatch.Signal()
authorization_code_replayed = django.dispatch.Signal()
refresh_token_reused = django.dispatch.Signal()
consent_granted = django.dispatch.Signal()
consent_denied = django.dispatch.Signal()
bearer_token_refused = django.dispatch.Signal()
