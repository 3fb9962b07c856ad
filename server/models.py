"""The authorization server's own models.

Credentials are stored only as keyed digests (`server.credentials`); every `*_prefix` field is a
short, non-secret beginning that the console shows to tell credentials apart. All writes go
through `server.services`; these classes hold state and the read-only checks authlib calls.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from server import credentials, policies

# The one client_id length limit: the column's, and so what the protocol endpoints, the rate
# limiter and the services accept before anything reaches the database.
MAX_CLIENT_ID_LENGTH = 64


def _split(value: str) -> list[str]:
    return value.split() if value else []


class Client(models.Model):
    """An OAuth 2.0 client (RFC 6749 §2, metadata of RFC 7591)."""

    class Type(models.TextChoices):
        CONFIDENTIAL = policies.CONFIDENTIAL_CLIENT, "Confidential (web app with a secret)"
        PUBLIC = policies.PUBLIC_CLIENT, "Public (SPA or native app, no secret)"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending approval"
        DISABLED = "disabled", "Disabled"
        REJECTED = "rejected", "Rejected"

    class Source(models.TextChoices):
        OPERATOR = "operator", "Operator"
        PORTAL = "portal", "Developer portal"
        DCR = "dcr", "Dynamic registration"
        IMPORT = "import", "Import"
        COMMAND = "command", "Management command"

    client_id = models.CharField(max_length=MAX_CLIENT_ID_LENGTH, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="oauth_clients",
    )
    client_type = models.CharField(max_length=16, choices=Type.choices, default=Type.CONFIDENTIAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=500, blank=True, default="")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.OPERATOR)
    # Space-separated lists, as in RFC 7591's wire format for scope.
    redirect_uris = models.TextField(blank=True, default="", help_text="One URI per line.")
    grant_types = models.CharField(max_length=200, default="authorization_code refresh_token")
    response_types = models.CharField(max_length=100, default="code")
    scope = models.TextField(blank=True, default="", help_text="Scopes this client may request.")
    token_endpoint_auth_method = models.CharField(max_length=32, default="client_secret_basic")
    client_uri = models.URLField(max_length=500, blank=True, default="")
    logo_uri = models.URLField(max_length=500, blank=True, default="")
    contacts = models.JSONField(blank=True, default=list)
    # Ask the user for consent every time, even when an earlier consent covers the scopes.
    require_consent = models.BooleanField(default=False)
    # May introspect tokens issued to other clients (a resource server's client).
    can_introspect_any_token = models.BooleanField(default=False)
    # OpenID Connect Registration §2: how this client's ID tokens are signed (never "none").
    id_token_signed_response_alg = models.CharField(
        max_length=8, choices=[(a, a) for a in policies.ID_TOKEN_SIGNING_ALGORITHMS], default="RS256"
    )
    # private_key_jwt's public keys: a JWK Set, or a URL fetched through server.outbound's guard.
    jwks = models.JSONField(blank=True, null=True, default=None)
    jwks_uri = models.URLField(max_length=policies.MAX_WEB_URI_LENGTH, blank=True, default="")
    registration_access_token_digest = models.CharField(max_length=64, blank=True, default="")
    # A developer's changes to an approved app that wait for an operator (services.REVIEWED_FIELDS):
    # {field: stored value}; the app keeps its approved settings until they are approved.
    pending_changes = models.JSONField(blank=True, default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("manage_clients", "Can create, change, disable and approve clients"),
            ("rotate_client_secret", "Can rotate client secrets"),
            ("revoke_tokens", "Can revoke tokens"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    # --- what the console and policies read ---------------------------------------------------

    @property
    def is_public(self) -> bool:
        return self.client_type == self.Type.PUBLIC

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def redirect_uri_list(self) -> list[str]:
        return _split(self.redirect_uris)

    @property
    def grant_type_list(self) -> list[str]:
        return _split(self.grant_types)

    @property
    def scope_list(self) -> list[str]:
        return _split(self.scope)

    @property
    def client_id_issued_at(self) -> int:
        return int(self.created_at.timestamp())

    # --- authlib's ClientMixin ----------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.redirect_uri_list
        # RFC 6749 §3.1.2.3: a default only when exactly one URI is registered.
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client may have; with none requested, the configured
        default scopes (None when there is no default: the request is invalid_scope)."""
        return policies.allowed_scope(self.scope_list, scope)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return policies.redirect_uri_matches(redirect_uri, self.redirect_uri_list)

    def check_client_secret(self, client_secret: str) -> bool:
        """True when `client_secret` matches one of this client's unexpired secrets."""
        if self.is_public or not client_secret:
            return False
        candidates = getattr(self, "loaded_secrets", None)
        if candidates is None:
            # Not read by `hotpath.sql.active_client` (console, commands): read them now, not
            # cached, so a rotation in between is seen.
            candidates = list(self.secrets.values_list("digest", "expires_at"))
        return credentials.matches_unexpired(client_secret, candidates, timezone.now())

    @property
    def uses_private_key_jwt(self) -> bool:
        return self.token_endpoint_auth_method == policies.PRIVATE_KEY_JWT

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        if self.uses_private_key_jwt:
            return method == policies.PRIVATE_KEY_JWT
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type in _split(self.response_types)

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_type_list


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
    # When the user signed in (OpenID Connect's auth_time); null when the session did not say.
    auth_time = models.DateTimeField(null=True, blank=True)
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

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int | None:
        return int(self.auth_time.timestamp()) if self.auth_time else None

    def get_acr(self):
        return None

    def get_amr(self):
        return None


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
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="oauth_tokens",
    )
    grant_type = models.CharField(max_length=64)
    scope = models.TextField(blank=True, default="")
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=200, blank=True, default="")
    revoked_reason = models.CharField(max_length=200, blank=True, default="")
    rotated_at = models.DateTimeField(null=True, blank=True)
    family_id = models.UUIDField(default=uuid.uuid4)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    authorization_code = models.ForeignKey(
        AuthorizationCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="tokens"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

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
            models.Index(fields=["expires_at"], name="token_expires"),
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


class Consent(models.Model):
    """A user's remembered approval of a client for a set of scopes."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_consents"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    scope = models.TextField(blank=True, default="")
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
        now = timezone.now()
        return (
            self.revoked_at is None
            and (self.expires_at is None or self.expires_at > now)
            and self.registrations < self.max_registrations
        )


# Its own module (this one is long enough); imported here so that Django finds it.
from server.key_models import SigningKey  # noqa: E402, F401
