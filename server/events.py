"""Every event the server emits, in one place. A new event is added here first.

Each event is a Django signal sent exactly once, by the one place that owns the fact. Service
events (`server.signals`) are sent after the write committed (`server.services._after_commit`);
protocol events (`server.oauth2.signals`) are sent by the endpoint or grant that saw them, with
the Django `request`. The spec's three signals (client_authenticated, token_authenticated,
token_revoked) keep the spec's names and arguments; no event of ours repeats one of them.
Every receiver also gets `sender`; service events also get `actor` (`server.actors.Actor`) and
`at` (a datetime).

Each entry: the event (and whether the spec defines it), its sender (the owner of the fact),
then its payload and who listens.

client_authenticated (spec)   AuthorizationServer.authenticate_client
    payload: client, request, method
    listeners: audit, spec receivers, server.ratelimit (trusted addresses)
client_authentication_failed  AuthorizationServer.authenticate_client
    payload: client_id (claimed, may be None), request, method, reason
    listeners: audit, server.ratelimit (secret-guessing counters)
token_authenticated (spec)    ResourceProtector (a bearer token accepted)
    payload: token, request
    listeners: audit, spec receivers
token_revoked (spec)          RevocationEndpoint (RFC 7009)
    payload: token, request, client
    listeners: audit, spec receivers
token_issued                  AuthorizationServer (token endpoint)
    payload: token (the dict sent; never stored), client, user, grant_type, scope, request, record
    listeners: audit
token_request_refused         AuthorizationServer (token endpoint)
    payload: client, grant_type, error, description, request
    listeners: audit
authorization_code_replayed   authorization-code grant
    payload: client, code, request
    listeners: audit
refresh_token_reused          refresh-token grant
    payload: client, token, request
    listeners: audit
consent_granted               AuthorizationServer (authorize)
    payload: client, user, scope, request, remembered
    listeners: audit
consent_denied                AuthorizationServer (authorize)
    payload: client, user, scope, request
    listeners: audit
bearer_token_refused          ResourceProtector (a protected view refused the request)
    payload: request, error, status
    listeners: metrics (not audited: see NOT_AUDITED)
client_created                services.clients
    payload: client, secret (plain text or None; never stored)
    listeners: audit
client_changed                services.clients, services.client_review
    payload: client, changes, review
    listeners: audit
client_status_changed         services.clients, services.client_review
    payload: client, old_status, new_status, reason
    listeners: audit
client_deleted                services.clients
    payload: client_id, name, tokens_revoked
    listeners: audit
client_secret_rotated         services.secrets
    payload: client, secret (row), previous_expires_at
    listeners: audit
client_secret_expired         services.secrets
    payload: client, secret (row)
    listeners: audit
tokens_revoked                services.tokens (bulk and family revocations)
    payload: count, reason, criteria
    listeners: audit
authorization_codes_expired   services.codes_and_consent (expire_unredeemed_codes)
    payload: count, reason, criteria
    listeners: audit
consent_revoked               services.codes_and_consent
    payload: client, user, tokens_revoked, codes_expired
    listeners: audit
user_access_revoked           services.users
    payload: user_id, username, reason, tokens_revoked, codes_voided
    listeners: audit
developer_signed_up           services.users
    payload: user (actor: that developer)
    listeners: audit
initial_access_token_created  services.registration
    payload: initial_access_token (row)
    listeners: audit
initial_access_token_revoked  services.registration
    payload: initial_access_tokens (ids), count
    listeners: audit
registration_access_token_issued  services.registration (a new RFC 7592 token for a client)
    payload: client, replaced (an earlier one stopped working)
    listeners: audit
expired_tokens_cleared        services.tokens (cleartokens)
    payload: tokens_deleted, codes_deleted
    listeners: audit
request_throttled             server.ratelimit (at once: a throttle writes nothing)
    payload: request, scope, limit, client_id, ip, retry_after
    listeners: audit
signing_key_created           services.signing_keys
    payload: key (state next)
    listeners: audit
signing_key_activated         services.signing_keys (rotation, first need)
    payload: key, retired (the key it replaced, or None)
    listeners: audit
signing_key_retired           services.signing_keys
    payload: key
    listeners: audit
signing_key_revoked           services.signing_keys
    payload: key, previous_state, reason
    listeners: audit
backing_service_failed        database guard of the protocol endpoints (server.views), the cache
                              guards (server.cache_round_trip: limiter and marks)
    payload: service ("database" or "cache"), error (class name), request (or None)
    listeners: metrics (not audited: see NOT_AUDITED)

The metrics (`oauth_console/metrics/receivers.py`, docs/operations.md) listen to the events they
count besides: token_issued, token_request_refused, client_authenticated (introspections),
client_authentication_failed, token_authenticated, bearer_token_refused, token_revoked,
tokens_revoked, consent_revoked, user_access_revoked, client_deleted, request_throttled,
backing_service_failed.

The audit log's own commands (export, prune, seal, verify) record themselves in the audit app
(`oauth_console.audit.commands_log`): the log is theirs, no server event is involved.
"""

from server.oauth2.signals import (
    authorization_code_replayed,
    bearer_token_refused,
    client_authenticated,
    client_authentication_failed,
    consent_denied,
    consent_granted,
    refresh_token_reused,
    token_authenticated,
    token_issued,
    token_request_refused,
    token_revoked,
)
from server.signals import (
    authorization_codes_expired,
    backing_service_failed,
    client_changed,
    client_created,
    client_deleted,
    client_secret_expired,
    client_secret_rotated,
    client_status_changed,
    consent_revoked,
    developer_signed_up,
    expired_tokens_cleared,
    initial_access_token_created,
    initial_access_token_revoked,
    registration_access_token_issued,
    request_throttled,
    signing_key_activated,
    signing_key_created,
    signing_key_retired,
    signing_key_revoked,
    tokens_revoked,
    user_access_revoked,
)

# name -> signal, in the table's order.
CATALOGUE = {
    "client_authenticated": client_authenticated,
    "client_authentication_failed": client_authentication_failed,
    "token_authenticated": token_authenticated,
    "token_revoked": token_revoked,
    "token_issued": token_issued,
    "token_request_refused": token_request_refused,
    "authorization_code_replayed": authorization_code_replayed,
    "refresh_token_reused": refresh_token_reused,
    "consent_granted": consent_granted,
    "consent_denied": consent_denied,
    "bearer_token_refused": bearer_token_refused,
    "client_created": client_created,
    "client_changed": client_changed,
    "client_status_changed": client_status_changed,
    "client_deleted": client_deleted,
    "client_secret_rotated": client_secret_rotated,
    "client_secret_expired": client_secret_expired,
    "tokens_revoked": tokens_revoked,
    "authorization_codes_expired": authorization_codes_expired,
    "consent_revoked": consent_revoked,
    "user_access_revoked": user_access_revoked,
    "developer_signed_up": developer_signed_up,
    "initial_access_token_created": initial_access_token_created,
    "initial_access_token_revoked": initial_access_token_revoked,
    "registration_access_token_issued": registration_access_token_issued,
    "expired_tokens_cleared": expired_tokens_cleared,
    "request_throttled": request_throttled,
    "signing_key_created": signing_key_created,
    "signing_key_activated": signing_key_activated,
    "signing_key_retired": signing_key_retired,
    "signing_key_revoked": signing_key_revoked,
    "backing_service_failed": backing_service_failed,
}

# Events the audit log deliberately does not record, and why.
NOT_AUDITED: dict[str, str] = {
    "bearer_token_refused": (
        "an API called with a missing, expired or wrong token is refused on every call, so one "
        "misconfigured resource client (or anyone at all) could flood the log; the refusals are "
        "counted by outcome in the metrics (oauth_bearer_checks_total)"
    ),
    "backing_service_failed": (
        "an outage is an operational fact, not a security one, and while the database is down the "
        "log cannot be written anyway; it is logged at once and counted in the metrics "
        "(oauth_backing_service_errors_total)"
    ),
}

__all__ = [*CATALOGUE, "CATALOGUE", "NOT_AUDITED"]
