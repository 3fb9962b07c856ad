"""Signals the server's services send after each write (one per operation).

Protocol-level signals (client authenticated, token issued, ...) live in `server.oauth2.signals`.
The console, and the audit log in particular, learn what happened only through these two
modules; the server never calls the console. Every signal is sent after the write committed
(`transaction.on_commit`), so a receiver never sees a change that was rolled back. A listener
that must commit with the write (the audit log) registers a recorder instead
(`server.events.add_recorder`), which `server.events.emit` runs inside the write's transaction.

Keyword arguments (every signal also gets `actor`, a `server.actors.Actor`, and `at`, a datetime):

client_created            client, secret (plain text or None; receivers must not store it)
client_changed            client, changes (dict field -> [old, new], secrets never included),
                          review (optional: "held" - a developer's change waits for an operator,
                          changes are [current, proposed]; "approved" - an operator applied the
                          held changes, changes are what that changed (may be empty); "rejected" -
                          an operator dropped them)
client_status_changed     client, old_status, new_status, reason
client_deleted            client_id, name, tokens_revoked (int)
client_secret_rotated     client, secret (the new ClientSecret row), previous_expires_at
client_secret_expired     client, secret (the ClientSecret row that was expired)
tokens_revoked            count, reason, criteria (dict describing the set, e.g. {"client_id": ...}):
                          a bulk or family revocation. A single token revoked through the
                          RFC 7009 endpoint is the spec's `server.oauth2.signals.token_revoked`
                          alone (the catalogue, `server.events`, lists who sends what)
authorization_codes_expired  count (int: unredeemed codes made unusable), reason, criteria (dict
                          describing the set, e.g. {"client_id": ...})
consent_revoked           client, user, tokens_revoked (int), codes_expired (int: unredeemed codes)
user_access_revoked       user_id, username, reason, tokens_revoked (int), codes_voided (int):
                          a user was deactivated or deleted, and lost every token and code
initial_access_token_created  initial_access_token (row)
initial_access_token_revoked  initial_access_tokens (list of ids), count (int: how many were
                          still usable and are now revoked)
registration_access_token_issued  client, replaced (bool: an earlier RFC 7592 registration access
                          token stopped working). Not sent by a registration: its token is part
                          of `client_created`
expired_tokens_cleared    tokens_deleted (int), codes_deleted (int), client_sessions_deleted (int):
                          `cleartokens` removed expired tokens, old authorization codes and the
                          client sessions of OP sessions that logged out a day ago
developer_signed_up       user (the new account; actor is that developer)
request_throttled         request, scope ("token", "introspect", "revoke", "register", "login",
                          "device": user codes at /device, "signup"),
                          limit (the OAUTH2_RATE_LIMITS name that tripped, e.g. "token_ip" or
                          "auth_failures_client_ip"), client_id (claimed, unverified; may be ""),
                          ip, retry_after (seconds). Sent at once by server.ratelimit, not after
                          a commit: a throttle writes nothing.
device_authorization_requested  client, device_authorization (row; its codes only as digests),
                          scope: a device asked for access (RFC 8628 §3.1)
device_authorization_approved  client, user, device_authorization, scope: the user approved the
                          device on the consent page at /device (actor: that user); the device's
                          next poll gets the token (announced by `token_issued`)
device_authorization_denied  client, user, device_authorization, scope: the user denied it
device_authorizations_revoked  count, reason, criteria: open device authorizations (waiting, or
                          approved and not collected) made unusable (the console)
user_code_refused         request, user, reason ("malformed" or "unknown"): a user code typed at
                          /device matched no waiting device. Sent at once: nothing was written.
user_logged_out           user_id, username, sid (the OP session, "" when none was kept), clients
                          (client_ids signed in to in that session), notified (those sent a
                          back-channel logout token, by the task worker), initiated_by (the
                          client_id of an RP-initiated logout, else ""), tokens_revoked (int: the
                          session's tokens revoked, OAUTH2_LOGOUT_REVOKES_TOKENS), codes_expired (int: its
                          unredeemed codes): a browser session ended
backchannel_logout_failed  client, sid, sub, attempts, error: a client's back-channel logout was
                          given up after its last attempt (it may still hold the session)
api_created               api (an Api row: a resource server registered)
api_changed               api, changes (dict field -> [old, new]; allowed_clients as client_ids)
api_deleted               api_id, identifier, name, tokens_revoked (int: its tokens revoked)
backing_service_failed    service ("database" or "cache"), error (the exception's class name),
                          request (or None). A request met an outage: the protocol endpoints'
                          database guard answered 503, or the rate limiter's cache guard found
                          the cache down (once per retry delay per process). Sent at once, with
                          no `actor` or `at`: nothing was written, and nothing could be.
webhook_subscription_created  subscription (row; its secret is never in the payload): an operator
                          subscribed an https endpoint to events (oauth_console.webhooks.services)
webhook_subscription_changed  subscription, changes (dict field -> [old, new])
webhook_subscription_deleted  subscription_id, url, pending (int: deliveries dropped with it)
webhook_secret_rotated    subscription, previous_expires_at (the older secrets still sign until then)
webhook_test_event_sent   subscription, delivery (row): an operator asked for a test delivery
webhook_delivery_replayed  subscription, delivery (the new row), replay_of (the row replayed)
webhook_delivery_dead_lettered  subscription, delivery (row): the worker gave up after
                          OAUTH2_WEBHOOK_MAX_ATTEMPTS failed attempts (actor: system:webhooks)
"""

import django.dispatch

client_created = django.dispatch.Signal()
client_changed = django.dispatch.Signal()
client_status_changed = django.dispatch.Signal()
client_deleted = django.dispatch.Signal()
client_secret_rotated = django.dispatch.Signal()
client_secret_expired = django.dispatch.Signal()
tokens_revoked = django.dispatch.Signal()
authorization_codes_expired = django.dispatch.Signal()
consent_revoked = django.dispatch.Signal()
user_access_revoked = django.dispatch.Signal()
initial_access_token_created = django.dispatch.Signal()
initial_access_token_revoked = django.dispatch.Signal()
registration_access_token_issued = django.dispatch.Signal()
expired_tokens_cleared = django.dispatch.Signal()
developer_signed_up = django.dispatch.Signal()
request_throttled = django.dispatch.Signal()
signing_key_created = django.dispatch.Signal()
signing_key_activated = django.dispatch.Signal()
signing_key_retired = django.dispatch.Signal()
signing_key_revoked = django.dispatch.Signal()
backing_service_failed = django.dispatch.Signal()
device_authorization_requested = django.dispatch.Signal()
device_authorization_approved = django.dispatch.Signal()
device_authorization_denied = django.dispatch.Signal()
device_authorizations_revoked = django.dispatch.Signal()
user_code_refused = django.dispatch.Signal()
user_logged_out = django.dispatch.Signal()
backchannel_logout_failed = django.dispatch.Signal()
webhook_subscription_created = django.dispatch.Signal()
webhook_subscription_changed = django.dispatch.Signal()
webhook_subscription_deleted = django.dispatch.Signal()
webhook_secret_rotated = django.dispatch.Signal()
webhook_test_event_sent = django.dispatch.Signal()
webhook_delivery_replayed = django.dispatch.Signal()
webhook_delivery_dead_lettered = django.dispatch.Signal()
api_created = django.dispatch.Signal()
api_changed = django.dispatch.Signal()
api_deleted = django.dispatch.Signal()
