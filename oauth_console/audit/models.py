"""The audit log's tables: events and the checkpoints that chain them.

An event is written once (one INSERT, by a signal receiver) and never changed. `entry_hash` is an
HMAC over the event's own content and `position_hash` binds it to the row's id
(`oauth_console.audit.chain`), so a copied row verifies nowhere; checkpoints seal consecutive
ranges of events into a chain, so that deleting or inserting a row is detected as well as
altering one. See docs/audit.md for why checkpoints rather than a per-row chain.
"""

from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    CLIENT_AUTHENTICATED = "client_authenticated", "Client authenticated"
    CLIENT_AUTHENTICATION_FAILED = "client_authentication_failed", "Client authentication failed"
    TOKEN_ISSUED = "token_issued", "Token issued"
    TOKEN_REFUSED = "token_refused", "Token request refused"
    TOKEN_AUTHENTICATED = "token_authenticated", "Token used at a resource"
    TOKEN_REVOKED = "token_revoked", "Token revoked"
    TOKENS_REVOKED = "tokens_revoked", "Tokens revoked (bulk)"
    REFRESH_TOKEN_REUSED = "refresh_token_reused", "Refresh token reuse detected"
    AUTHORIZATION_CODE_REPLAYED = "authorization_code_replayed", "Authorization code replayed"
    CONSENT_GRANTED = "consent_granted", "Consent granted"
    CONSENT_REMEMBERED = "consent_remembered", "Authorized under remembered consent"
    CONSENT_DENIED = "consent_denied", "Consent denied"
    CONSENT_REVOKED = "consent_revoked", "Consent revoked"
    AUTHORIZATION_CODES_EXPIRED = "authorization_codes_expired", "Authorization codes expired"
    USER_ACCESS_REVOKED = "user_access_revoked", "User deactivated or deleted: OAuth access revoked"
    CLIENT_CREATED = "client_created", "Client created"
    CLIENT_CHANGED = "client_changed", "Client changed"
    CLIENT_APPROVED = "client_approved", "Client approved"
    CLIENT_REJECTED = "client_rejected", "Client rejected"
    CLIENT_DISABLED = "client_disabled", "Client disabled"
    CLIENT_ENABLED = "client_enabled", "Client enabled"
    CLIENT_DELETED = "client_deleted", "Client deleted"
    CLIENT_SECRET_ROTATED = "client_secret_rotated", "Client secret rotated"
    CLIENT_SECRET_EXPIRED = "client_secret_expired", "Client secret expired"
    REGISTRATION_ACCESS_TOKEN_ISSUED = "registration_access_token_issued", "Registration access token issued"
    INITIAL_ACCESS_TOKEN_CREATED = "initial_access_token_created", "Initial access token created"
    INITIAL_ACCESS_TOKEN_REVOKED = "initial_access_token_revoked", "Initial access tokens revoked"
    EXPIRED_TOKENS_CLEARED = "expired_tokens_cleared", "Expired tokens cleared"
    DEVELOPER_SIGNED_UP = "developer_signed_up", "Developer signed up"
    OPERATOR_LOGIN = "operator_login", "Operator signed in"
    USER_LOGIN = "user_login", "User signed in"
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    AUDIT_LOG_PRUNED = "audit_log_pruned", "Audit log pruned"
    AUDIT_LOG_EXPORTED = "audit_log_exported", "Audit log exported"
    AUDIT_LOG_SEALED = "audit_log_sealed", "Audit log sealed"
    AUDIT_LOG_VERIFIED = "audit_log_verified", "Audit log verified"
    REQUEST_THROTTLED = "request_throttled", "Request throttled"
    SIGNING_KEY_CREATED = "signing_key_created", "Signing key created"
    SIGNING_KEY_ACTIVATED = "signing_key_activated", "Signing key activated"
    SIGNING_KEY_RETIRED = "signing_key_retired", "Signing key retired"
    SIGNING_KEY_REVOKED = "signing_key_revoked", "Signing key revoked"
    DEVICE_AUTHORIZATION_REQUESTED = "device_authorization_requested", "Device authorization requested"
    DEVICE_AUTHORIZATION_APPROVED = "device_authorization_approved", "Device approved (consent granted)"
    DEVICE_AUTHORIZATION_DENIED = "device_authorization_denied", "Device denied"
    DEVICE_AUTHORIZATIONS_REVOKED = "device_authorizations_revoked", "Device authorizations revoked"
    USER_CODE_REFUSED = "user_code_refused", "Device user code refused"
    USER_LOGGED_OUT = "user_logged_out", "User signed out (OpenID Connect session ended)"
    BACKCHANNEL_LOGOUT_FAILED = "backchannel_logout_failed", "Back-channel logout given up"
    WEBHOOK_SUBSCRIPTION_CREATED = "webhook_subscription_created", "Webhook subscribed"
    WEBHOOK_SUBSCRIPTION_CHANGED = "webhook_subscription_changed", "Webhook changed"
    WEBHOOK_SUBSCRIPTION_DELETED = "webhook_subscription_deleted", "Webhook deleted"
    WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated", "Webhook secret rotated"
    WEBHOOK_TEST_EVENT_SENT = "webhook_test_event_sent", "Webhook test event sent"
    WEBHOOK_DELIVERY_REPLAYED = "webhook_delivery_replayed", "Webhook delivery replayed"
    WEBHOOK_DELIVERY_DEAD_LETTERED = "webhook_delivery_dead_lettered", "Webhook delivery dead-lettered"
    API_CREATED = "api_created", "API created"
    API_CHANGED = "api_changed", "API changed"
    API_DELETED = "api_deleted", "API deleted"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class ActorKind(models.TextChoices):
    OPERATOR = "operator", "Operator"
    USER = "user", "User"
    DEVELOPER = "developer", "Developer"
    CLIENT = "client", "Client"
    SYSTEM = "system", "System"
    ANONYMOUS = "anonymous", "Anonymous"


class AuditEvent(models.Model):
    """One security event. Append-only: nothing in the application updates or deletes a row
    except `prune_audit_log`, which removes whole sealed ranges and leaves a checkpoint."""

    occurred_at = models.DateTimeField(default=timezone.now)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices, default=ActorKind.SYSTEM)
    actor_label = models.CharField(max_length=200, blank=True, default="")
    # Plain values, not foreign keys: an event outlives the client, user or token it names
    # (deleting a user must not rewrite, and so break, the hashed history).
    client_id = models.CharField("client", max_length=64, blank=True, default="")
    user_id = models.BigIntegerField("user id", null=True, blank=True)
    username = models.CharField(max_length=150, blank=True, default="")
    token_id = models.BigIntegerField("token id", null=True, blank=True)
    token_prefix = models.CharField(max_length=16, blank=True, default="")
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    request_id = models.CharField("request id", max_length=64, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    # HMAC-SHA256 over the canonical JSON of the fields above (oauth_console.audit.chain).
    entry_hash = models.CharField(max_length=64)
    # HMAC of the id and entry_hash: a copy of this row under another id does not verify.
    # Empty only on rows written before it existed (up to the `legacy` checkpoint's event).
    position_hash = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        # Newest first, on an index that also breaks ties, so pages can be read by keyset.
        # Indexes: one per filter the admin offers (date, type, client, user, IP), each ending
        # in the list's whole order (-occurred_at, -id): a filtered page and its capped count
        # (LIMIT 10001) then read the index in order, the count without touching the table.
        # Without the id, PostgreSQL sorts each run of equal times and fetches every counted
        # row from the heap (8,000 pages for one client's count among 10M events).
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["-occurred_at", "-id"], name="audit_occurred"),
            models.Index(fields=["event_type", "-occurred_at", "-id"], name="audit_type_occurred_id"),
            models.Index(fields=["client_id", "-occurred_at", "-id"], name="audit_client_occurred_id"),
            models.Index(fields=["username", "-occurred_at", "-id"], name="audit_username_occurred_id"),
            models.Index(fields=["ip_address", "-occurred_at", "-id"], name="audit_ip_occurred_id"),
        ]
        # No more: every index is paid for on each INSERT, on the token endpoint's budget.
        # Outcome is filtered together with a type or a client, which narrow first.
        verbose_name = "audit event"
        verbose_name_plural = "audit events"

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_type} {self.outcome} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class Checkpoint(models.Model):
    """A link of the checkpoint chain.

    A `seal` covers the events with ids first_event_id..last_event_id (exactly the ids listed
    in `id_ranges`), and its digest covers those events' hashes and the previous seal's digest.
    A `prune` records where the log now begins after old seals and events were deleted: its
    `prev_digest` is the digest of the last deleted seal, which the first remaining seal
    names as its predecessor.
    A `legacy` record says up to which event the log was written before events carried a
    position hash; its digest covers that id.
    """

    class Kind(models.TextChoices):
        SEAL = "seal", "Seal"
        PRUNE = "prune", "Prune"
        # Events up to last_event_id predate position hashes (migration audit.0007).
        LEGACY = "legacy", "Legacy events"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SEAL)
    created_at = models.DateTimeField(default=timezone.now)
    first_event_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    event_count = models.PositiveIntegerField()
    # [[first, last], ...]: ids are nearly consecutive, so runs keep this small.
    id_ranges = models.JSONField(default=list)
    prev_digest = models.CharField(max_length=64, blank=True, default="")
    digest = models.CharField(max_length=64)

    class Meta:
        ordering = ["last_event_id", "id"]
        constraints = [
            # Two sealers racing to extend the chain from the same link: one wins, one retries.
            models.UniqueConstraint(
                fields=["prev_digest"], condition=models.Q(kind="seal"), name="audit_seal_prev_unique"
            ),
        ]
        indexes = [models.Index(fields=["kind", "last_event_id"], name="audit_checkpoint_kind_last")]

    def __str__(self) -> str:
        return f"{self.kind} of events #{self.first_event_id}..#{self.last_event_id}"
