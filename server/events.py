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
    recorders: audit (in the fact's transaction); listeners: spec receivers
token_issued                  AuthorizationServer (token endpoint)
    payload: token (the dict sent; never stored), client, user, grant_type, scope, request, record
    recorders: audit (in the fact's transaction)
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
    recorders: audit (in the fact's transaction)
consent_denied                AuthorizationServer (authorize)
    payload: client, user, scope, request
    listeners: audit
bearer_token_refused          ResourceProtector (a protected view refused the request)
    payload: request, error, status
    listeners: metrics (not audited: see NOT_AUDITED)
client_created                services.clients
    payload: client, secret (plain text or None; never stored)
    recorders: audit (in the fact's transaction)
client_changed                services.clients, services.client_review
    payload: client, changes, review
    recorders: audit (in the fact's transaction)
client_status_changed         services.clients, services.client_review
    payload: client, old_status, new_status, reason
    recorders: audit (in the fact's transaction)
client_deleted                services.clients
    payload: client_id, name, tokens_revoked
    recorders: audit (in the fact's transaction)
client_secret_rotated         services.secrets
    payload: client, secret (row), previous_expires_at
    recorders: audit (in the fact's transaction)
client_secret_expired         services.secrets
    payload: client, secret (row)
    recorders: audit (in the fact's transaction)
tokens_revoked                services.tokens (bulk and family revocations)
    payload: count, reason, criteria
    recorders: audit (in the fact's transaction)
authorization_codes_expired   services.codes_and_consent (expire_unredeemed_codes)
    payload: count, reason, criteria
    recorders: audit (in the fact's transaction)
consent_revoked               services.codes_and_consent
    payload: client, user, tokens_revoked, codes_expired
    recorders: audit (in the fact's transaction)
user_access_revoked           services.users
    payload: user_id, username, reason, tokens_revoked, codes_voided
    recorders: audit (in the fact's transaction)
developer_signed_up           services.users
    payload: user (actor: that developer)
    recorders: audit (in the fact's transaction)
initial_access_token_created  services.registration
    payload: initial_access_token (row)
    recorders: audit (in the fact's transaction)
initial_access_token_revoked  services.registration
    payload: initial_access_tokens (ids), count
    recorders: audit (in the fact's transaction)
registration_access_token_issued  services.registration (a new RFC 7592 token for a client)
    payload: client, replaced (an earlier one stopped working)
    recorders: audit (in the fact's transaction)
expired_tokens_cleared        services.tokens (cleartokens)
    payload: tokens_deleted, codes_deleted, client_sessions_deleted
    recorders: audit (in the fact's transaction)
request_throttled             server.ratelimit (at once: a throttle writes nothing)
    payload: request, scope, limit, client_id, ip, retry_after
    listeners: audit
signing_key_created           services.signing_keys
    payload: key (state next)
    recorders: audit (in the fact's transaction)
signing_key_activated         services.signing_keys (rotation, first need)
    payload: key, retired (the key it replaced, or None)
    recorders: audit (in the fact's transaction)
signing_key_retired           services.signing_keys
    payload: key
    recorders: audit (in the fact's transaction)
signing_key_revoked           services.signing_keys
    payload: key, previous_state, reason
    recorders: audit (in the fact's transaction)
device_authorization_requested  services.device_codes (the device authorization endpoint)
    payload: client, device_authorization (row), scope
    recorders: audit (in the fact's transaction)
device_authorization_approved  services.device_codes (the /device consent page)
    payload: client, user, device_authorization, scope
    recorders: audit (in the fact's transaction)
device_authorization_denied  services.device_codes (the /device consent page)
    payload: client, user, device_authorization, scope
    recorders: audit (in the fact's transaction)
device_authorizations_revoked  services.device_codes (the console)
    payload: count, reason, criteria
    recorders: audit (in the fact's transaction)
user_code_refused             the /device page (server.device_views; at once: nothing is written)
    payload: request, user, reason
    listeners: audit
user_logged_out               services.logout (any sign-out of a browser session)
    payload: user_id, username, sid, clients, notified, initiated_by, tokens_revoked, codes_expired
    recorders: audit (in the fact's transaction)
backchannel_logout_failed     services.backchannel_logout (the task worker, after the last attempt)
    payload: client, sid, sub, attempts, error
api_created                   services.apis
    payload: api (row)
    recorders: audit (in the fact's transaction)
api_changed                   services.apis
    payload: api, changes
    recorders: audit (in the fact's transaction)
api_deleted                   services.apis
    payload: api_id, identifier, name, tokens_revoked
    recorders: audit (in the fact's transaction)
backing_service_failed        database guard of the protocol endpoints (server.views), the cache
                              guards (server.cache_round_trip: limiter and marks)
    payload: service ("database" or "cache"), error (class name), request (or None)
    listeners: metrics (not audited: see NOT_AUDITED)

webhook_subscription_created  oauth_console.webhooks.services (the console)
    payload: subscription (row; never its secret)
    recorders: audit (in the fact's transaction)
webhook_subscription_changed  oauth_console.webhooks.services
    payload: subscription, changes
    recorders: audit (in the fact's transaction)
webhook_subscription_deleted  oauth_console.webhooks.services
    payload: subscription_id, url, pending
    recorders: audit (in the fact's transaction)
webhook_secret_rotated        oauth_console.webhooks.services
    payload: subscription, previous_expires_at
    recorders: audit (in the fact's transaction)
webhook_test_event_sent       oauth_console.webhooks.services
    payload: subscription, delivery (row)
    recorders: audit (in the fact's transaction)
webhook_delivery_replayed     oauth_console.webhooks.services
    payload: subscription, delivery (the new row), replay_of (row)
    recorders: audit (in the fact's transaction)
webhook_delivery_dead_lettered  oauth_console.webhooks.services (the delivery worker gave up)
    payload: subscription, delivery (row)
    recorders: audit (in the fact's transaction)

The metrics (`oauth_console/metrics/receivers.py`, docs/operations.md) listen to the events they
count besides: token_issued, token_request_refused, client_authenticated (introspections),
client_authentication_failed, token_authenticated, bearer_token_refused, token_revoked,
tokens_revoked, consent_revoked, user_access_revoked, client_deleted, request_throttled,
backing_service_failed.

The webhooks (`oauth_console/webhooks/outbox.py`, docs/webhooks.md) write a delivery for the
events they offer: with recorders for those that report a write (so a delivery commits with
its fact), as listeners for refresh_token_reused, authorization_code_replayed and
request_throttled. The webhook events above are sent by the console's webhook services: the
catalogue is the one list of events, whoever owns the fact.

The audit log's own commands (export, prune, seal, verify) record themselves in the audit app
(`oauth_console.audit.commands_log`): the log is theirs, no server event is involved.

Recorded with the fact (`IN_TRANSACTION`, in server/events_recorded.py): an event that reports a
write of ours (a token issued or revoked, a consent granted, every service event) has
*recorders*, which run inside the transaction of that write, before it commits, so that the
write and its record commit together or not at all: a crash (SIGKILL, power loss) can lose
neither without the other. A listener that must never miss a fact (the audit log) registers one
with `add_recorder`, not a signal receiver. Who runs them is the fact's owner: a service calls
`emit` (the recorders at once, the public signal on commit, as always); the protocol package
sends `token_issued` and `consent_granted` inside the transaction that stores what they report,
and `add_recorder` bridges those signals to the recorders; an RFC 7009 revocation is recorded by
the revocation service (`services.tokens`) with `record`, the spec's `token_revoked` signal
following from the endpoint. A recorder that raises rolls the fact back: register only what must
be durable, and keep it small (it runs on the hot path, in the fact's transaction). On
PostgreSQL a token's INSERT and an RFC 7009 revocation's UPDATE wait while their recorders run,
so that a row a recorder only adds goes into the fact's own statement (`server.hotpath.riders`);
a recorder that reads or writes anything else gets the fact written first, in a transaction with
its own writes. Events that report no write of ours (authentications, refusals, throttles, a
bearer token's use) stay signals only.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

from server.events_recorded import IN_TRANSACTION, NOT_AUDITED
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
    api_changed,
    api_created,
    api_deleted,
    authorization_codes_expired,
    backchannel_logout_failed,
    backing_service_failed,
    client_changed,
    client_created,
    client_deleted,
    client_secret_expired,
    client_secret_rotated,
    client_status_changed,
    consent_revoked,
    developer_signed_up,
    device_authorization_approved,
    device_authorization_denied,
    device_authorization_requested,
    device_authorizations_revoked,
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
    user_code_refused,
    user_logged_out,
    webhook_delivery_dead_lettered,
    webhook_delivery_replayed,
    webhook_secret_rotated,
    webhook_subscription_changed,
    webhook_subscription_created,
    webhook_subscription_deleted,
    webhook_test_event_sent,
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
    "device_authorization_requested": device_authorization_requested,
    "device_authorization_approved": device_authorization_approved,
    "device_authorization_denied": device_authorization_denied,
    "device_authorizations_revoked": device_authorizations_revoked,
    "user_code_refused": user_code_refused,
    "user_logged_out": user_logged_out,
    "backchannel_logout_failed": backchannel_logout_failed,
    "api_created": api_created,
    "api_changed": api_changed,
    "api_deleted": api_deleted,
    "backing_service_failed": backing_service_failed,
    "webhook_subscription_created": webhook_subscription_created,
    "webhook_subscription_changed": webhook_subscription_changed,
    "webhook_subscription_deleted": webhook_subscription_deleted,
    "webhook_secret_rotated": webhook_secret_rotated,
    "webhook_test_event_sent": webhook_test_event_sent,
    "webhook_delivery_replayed": webhook_delivery_replayed,
    "webhook_delivery_dead_lettered": webhook_delivery_dead_lettered,
}

# Of those, the ones whose signal is itself sent inside the fact's transaction (by server.oauth2).
_BRIDGED = ("token_issued", "consent_granted")

Recorder = Callable[..., None]
_recorders: dict[str, list[Recorder]] = {}
_names = {signal: name for name, signal in CATALOGUE.items()}


def add_recorder(name: str, recorder: Recorder, /) -> None:
    """Run `recorder(sender=..., **payload)` inside the transaction of every `name` fact.

    The recorder's writes commit with the fact or not at all; if it raises, the fact is rolled
    back (the caller sees the exception). Adding the same recorder twice adds it once."""
    if name not in IN_TRANSACTION:
        raise ValueError(f"{name!r} is not recorded in the transaction of its fact (IN_TRANSACTION).")
    registered = _recorders.setdefault(name, [])
    if recorder not in registered:
        registered.append(recorder)
    if name in _BRIDGED:
        CATALOGUE[name].connect(_bridge, dispatch_uid=f"server.events.recorders.{name}")


def remove_recorder(name: str, recorder: Recorder, /) -> None:
    """Stop running `recorder` for `name` (a benchmark that times a request without it)."""
    registered = _recorders.get(name, [])
    if recorder in registered:
        registered.remove(recorder)


def recorders(name: str) -> list[Recorder]:
    """The recorders registered for `name` (a copy)."""
    return list(_recorders.get(name, ()))


def _bridge(signal, sender, **payload) -> None:
    record(_names[signal], sender=sender, **payload)


def record(name: str, /, *, sender: Any, **payload: Any) -> None:
    """Run `name`'s recorders now: call it inside the transaction that writes the fact."""
    for recorder in _recorders.get(name, ()):
        recorder(sender=sender, **payload)


def emit(signal, /, *, sender: Any, **payload: Any) -> None:
    """Report a service's fact: its recorders now, inside the caller's transaction (call it
    there, after the write), and the public signal once that transaction commits, so that a
    receiver never sees a change that was rolled back."""
    record(_names[signal], sender=sender, **payload)
    transaction.on_commit(partial(signal.send, sender=sender, **payload))


__all__ = [
    *CATALOGUE,
    "CATALOGUE",
    "IN_TRANSACTION",
    "NOT_AUDITED",
    "add_recorder",
    "emit",
    "record",
    "recorders",
    "remove_recorder",
]
