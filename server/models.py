"""The authorization server's own models.

Credentials are stored only as keyed digests (`server.credentials`); every `*_prefix` field is a
short, non-secret beginning that the console shows to tell credentials apart. All writes go
through `server.services`; these classes hold state and the read-only checks authlib calls.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

# Client is its own module (this one is long enough), re-exported: `from server.models import Client`.
from server.client_model import MAX_CLIENT_ID_LENGTH, Client, _split, is_well_formed_client_id  # noqa: F401
from server.oauth2.claims_request import granted_claims

# The largest primary key a bigint column holds (PostgreSQL, and SQLite's INTEGER): the bound of
# every row id read from a request (the console's lookups, the device page's form).
MAX_ROW_ID = 2**63 - 1


class ClientSecret(models.Model):
    """One of a client's secrets. Rotation adds one and gives the old one an expiry."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="secrets")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class AuthorizationCode(models.Model):
    """An authorization code (RFC 6749 §4.1.2). Single use: `used_at` marks redemption, and the
    row is kept until expiry so that a replay can be recognised and its tokens revoked."""

    code_digest = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="authorization_codes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.TextField(blank=True, default="")
    scope = models.TextField(blank=True, default="")
    code_challenge = models.CharField(max_length=128, blank=True, default="")
    code_challenge_method = models.CharField(max_length=10, blank=True, default="")
    nonce = models.CharField(max_length=255, blank=True, default="")
    # RFC 8707: the resources (API identifiers) the code was granted for, space-separated; ""
    # when the request named none (the default API).
    audience = models.TextField(blank=True, default="", db_default="")
    # When the user signed in (OpenID Connect's auth_time); null when the session did not say.
    auth_time = models.DateTimeField(null=True, blank=True)
    # The OP session (server.session_models) the code was issued in: the ID token's `sid`.
    sid = models.CharField(max_length=64, blank=True, default="")
    # How (OpenID Connect's amr, space-separated: "pwd" for a password); "" when unknown.
    amr = models.CharField(max_length=64, blank=True, default="")
    # The authorization request's `claims` parameter (OIDC Core §5.5), as validated; null: none.
    claims = models.JSONField(null=True, blank=True, default=None)
    # The claims of that request the person approved one by one on the consent page (no approved
    # scope covers them; space-separated names): with `claims`, what the tokens may deliver.
    consented_claims = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code #{self.pk} for {self.client_id}"

    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    # --- authlib's AuthorizationCodeMixin ----------------------------------------------------

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_audience(self) -> list[str]:
        return self.audience.split()

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int | None:
        return int(self.auth_time.timestamp()) if self.auth_time else None

    def get_session_id(self) -> str:
        return self.sid

    def get_acr(self):
        return None  # no authentication context class is defined here: acr is never claimed

    def get_amr(self) -> list[str] | None:
        return self.amr.split() or None

    def get_claims_request(self) -> dict | None:
        return self.claims

    def get_granted_claims(self, target: str) -> list[str]:
        """The individually approved claims requested for `target` ("id_token", "userinfo")."""
        return granted_claims(self.claims, self.consented_claims.split()).get(target, [])


class Token(models.Model):
    """An access token and, optionally, the refresh token issued with it.

    Refresh rotation creates a new row with the same `family_id` and `parent` set to the row
    whose refresh token was used; that row gets `rotated_at`. Presenting a rotated refresh token
    again is reuse: the whole family is revoked.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    # Unique through Meta.constraints, not unique=True: on PostgreSQL unique=True on a CharField
    # adds a second (LIKE) index that every INSERT pays for and no query uses.
    access_token_digest = models.CharField(max_length=64)
    access_token_prefix = models.CharField(max_length=16)
    refresh_token_digest = models.CharField(max_length=64, null=True, blank=True)
    refresh_token_prefix = models.CharField(max_length=16, blank=True, default="")
    token_type = models.CharField(max_length=20, default="Bearer")
    # The foreign keys carry no index of their own (db_index=False): each is the leading column of
    # one of Meta.indexes, which answers the lookups by it (the console's filters, the cascades and
    # SET NULLs), and an index fewer is a write fewer on every token issued.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="tokens", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="oauth_tokens",
        db_index=False,
    )
    grant_type = models.CharField(max_length=64)
    scope = models.TextField(blank=True, default="")
    # RFC 8707: the APIs (identifiers, space-separated) the token is restricted to; "" for a
    # token that named no resource, which is for the default API (`server.apis`).
    audience = models.TextField(blank=True, default="", db_default="")
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=200, blank=True, default="")
    revoked_reason = models.CharField(max_length=200, blank=True, default="")
    rotated_at = models.DateTimeField(null=True, blank=True)
    family_id = models.UUIDField(default=uuid.uuid4)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children", db_index=False
    )
    authorization_code = models.ForeignKey(
        AuthorizationCode,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tokens",
        db_index=False,
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    # OpenID Connect claims the person approved one by one (beyond the scope), by where they
    # were requested: {"userinfo": [...], "id_token": [...]}; null for none. Kept by refreshes.
    claims = models.JSONField(null=True, blank=True, default=None)
    # The OP session (`sid`) of the browser sign-in the token's family started from ("" for
    # tokens of no browser session: client credentials, device flow, non-OpenID codes); ending
    # that session may revoke them (OAUTH2_LOGOUT_REVOKES_TOKENS).
    sid = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["access_token_digest"], name="token_access_digest_unique"),
            # Partial: a token without a refresh token (client_credentials) is not indexed here,
            # one index write fewer per such INSERT; every lookup by digest implies NOT NULL.
            models.UniqueConstraint(
                fields=["refresh_token_digest"],
                condition=models.Q(refresh_token_digest__isnull=False),
                name="token_refresh_digest_unique",
            ),
        ]
        indexes = [
            # The console lists newest first, filtered by client or user; bulk revocation
            # narrows by client or user and by issue time. The user index skips tokens without
            # a user (client_credentials), as above.
            models.Index(fields=["client", "-issued_at"], name="token_client_issued"),
            models.Index(
                fields=["user", "-issued_at"],
                name="token_user_issued",
                condition=models.Q(user__isnull=False),
            ),
            models.Index(fields=["-issued_at"], name="token_issued"),
            models.Index(fields=["family_id"], name="token_family"),
            # Expiry ranges (active tokens, cleartokens), and one client's unexpired tokens
            # without reading other clients' rows. Never `revoked_at`, not even in a WHERE: that
            # would end heap-only revocation (server.0003, server.0018).
            models.Index(fields=["expires_at", "client"], name="token_expires_client"),
            # Only refreshed tokens have a parent and only code grants a code: the others (every
            # client_credentials token) are left out of these two, as above.
            models.Index(fields=["parent"], name="token_parent", condition=models.Q(parent__isnull=False)),
            models.Index(
                fields=["authorization_code"],
                name="token_authorization_code",
                condition=models.Q(authorization_code__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.access_token_prefix}…"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    # --- authlib's TokenMixin ----------------------------------------------------------------

    def check_client(self, client) -> bool:
        # Both sides are our Client's primary key (authlib hands us the Client row).
        return self.client_id == getattr(client, "pk", None)

    def get_scope(self) -> str:
        return self.scope

    def get_audience(self) -> list[str]:
        return self.audience.split()

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def get_expires_at(self) -> int:
        return int(self.expires_at.timestamp())

    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    def is_refresh_token_expired(self) -> bool:
        return self.refresh_expires_at is not None and self.refresh_expires_at <= timezone.now()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_user(self):
        return self.user

    def get_granted_claims(self, target: str) -> list[str]:
        """The individually approved claims delivered at `target` ("id_token", "userinfo")."""
        return list((self.claims or {}).get(target) or [])


class Consent(models.Model):
    """A user's remembered approval of a client for a set of scopes."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_consents"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    scope = models.TextField(blank=True, default="")
    # Claims approved one by one (OpenID Connect's claims parameter; space-separated names),
    # beyond what the scopes cover: a later request asking for one not here shows the page again.
    claims = models.TextField(blank=True, default="", db_default="")
    granted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="consent_user_client")]

    def __str__(self) -> str:
        return f"consent of user {self.user_id} to client {self.client_id}"

    @property
    def scope_list(self) -> list[str]:
        return _split(self.scope)


class InitialAccessToken(models.Model):
    """An operator-issued token that lets a developer register clients (RFC 7591 §3)."""

    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    description = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_registrations = models.PositiveIntegerField(default=1)
    registrations = models.PositiveIntegerField(default=0)
    allowed_scope = models.TextField(blank=True, default="")
    allowed_grant_types = models.CharField(max_length=200, default="authorization_code refresh_token")
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… {self.description}".strip()

    @property
    def is_usable(self) -> bool:
        unexpired = self.expires_at is None or self.expires_at > timezone.now()
        return self.revoked_at is None and unexpired and self.registrations < self.max_registrations


# Its own module (this one is long enough); imported here so that Django finds it.
from server.api_model import Api  # noqa: E402, F401
from server.device_models import DeviceAuthorization  # noqa: E402, F401
from server.key_models import SigningKey  # noqa: E402, F401


class SweepPosition(models.Model):
    """Where a batched sweep over a table got to (`cleartokens`), so that a run cut short by a
    deploy, a timeout or a kill resumes after the last key it finished instead of rereading
    the table from its start. Written in each batch's transaction, with the batch's delete."""

    CLEARTOKENS = "cleartokens"

    name = models.CharField(max_length=64, unique=True)
    last_key = models.BigIntegerField(default=0)  # 0: the next run starts at the beginning
    started_at = models.DateTimeField(default=timezone.now)  # when the current pass began
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at key {self.last_key}"


from server.session_models import BackchannelDelivery, ClientSession  # noqa: E402, F401
