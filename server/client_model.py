"""The OAuth 2.0 client model, re-exported by `server.models` (import it from there).

Its own module because `server.models` would otherwise pass the module size limit; the app label
stays `server`, so migrations and `from server.models import Client` are unchanged.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from server import credentials, policies

# The one client_id length limit: the column's, and so what the protocol endpoints, the rate
# limiter and the services accept before anything reaches the database.
MAX_CLIENT_ID_LENGTH = 64


def is_well_formed_client_id(client_id) -> bool:
    """True for what a client_id may be: 1 to MAX_CLIENT_ID_LENGTH printable characters without
    spaces. The rule a new client's id meets (services.create_client), and the one an id from an
    address (a portal or account page, the operator API) is read by: anything else names no
    client, and is a 404 without a query (PostgreSQL refuses a NUL in a text parameter: a 500)."""
    return (
        isinstance(client_id, str)
        and policies.could_be_identifier(client_id, max_length=MAX_CLIENT_ID_LENGTH)
        and " " not in client_id
    )


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
    # RFC 7591 §2: the client's privacy policy and terms of service, shown on the consent page.
    policy_uri = models.URLField(max_length=500, blank=True, default="")
    tos_uri = models.URLField(max_length=500, blank=True, default="")
    contacts = models.JSONField(blank=True, default=list)
    # Ask the user for consent every time, even when an earlier consent covers the scopes.
    require_consent = models.BooleanField(default=False)
    # May introspect tokens issued to other clients (a resource server's client).
    can_introspect_any_token = models.BooleanField(default=False)
    # OpenID Connect Registration §2: how this client's ID tokens are signed (never "none").
    id_token_signed_response_alg = models.CharField(
        max_length=8, choices=[(a, a) for a in policies.ID_TOKEN_SIGNING_ALGORITHMS], default="RS256"
    )
    # OIDC Registration §2, RP-Initiated Logout §3.1 (policies); logout URIs one per line.
    subject_type = models.CharField(
        max_length=16, choices=[(t, t) for t in policies.SUBJECT_TYPES], default="public"
    )
    # Where a pairwise `sub` is computed (OIDC Core §8.1): the redirect URIs' host, or the
    # sector_identifier_uri's; set by the policy and kept while the client is pairwise
    # (server.oidc_policy.sector_settings).
    sector_identifier = models.CharField(max_length=255, blank=True, default="", editable=False)
    # OIDC Registration §2: an https URL serving a JSON array of the client's redirect URIs; when
    # set, its host is the sector (checked, through the SSRF guard, by the policy at every door).
    sector_identifier_uri = models.CharField(max_length=policies.MAX_WEB_URI_LENGTH, blank=True, default="")
    # UserInfo as a JWT signed with this algorithm ("" : plain JSON).
    userinfo_signed_response_alg = models.CharField(
        max_length=8,
        blank=True,
        default="",
        choices=[("", "(plain JSON)"), *((a, a) for a in policies.USERINFO_SIGNING_ALGORITHMS)],
    )
    # The one algorithm this client's private_key_jwt assertions may use ("": any accepted one).
    token_endpoint_auth_signing_alg = models.CharField(
        max_length=8,
        blank=True,
        default="",
        choices=[("", "(any)"), *((a, a) for a in policies.AUTH_SIGNING_ALGORITHMS)],
    )
    default_max_age = models.PositiveIntegerField(null=True, blank=True)
    require_auth_time = models.BooleanField(default=False)
    post_logout_redirect_uris = models.TextField(blank=True, default="", help_text="One URI per line.")
    # OpenID Connect Back-Channel Logout §2.2: where the logout token is POSTed (server.outbound's
    # guard), and whether the client needs its `sid` (always sent here).
    backchannel_logout_uri = models.CharField(max_length=policies.MAX_WEB_URI_LENGTH, blank=True, default="")
    backchannel_logout_session_required = models.BooleanField(default=False)
    # OpenID Connect Front-Channel Logout §2: the page the logout page loads in a hidden iframe,
    # and whether it is given `iss` and `sid` as query parameters.
    frontchannel_logout_uri = models.CharField(max_length=policies.MAX_WEB_URI_LENGTH, blank=True, default="")
    frontchannel_logout_session_required = models.BooleanField(default=False)
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
    def response_type_list(self) -> list[str]:
        """The response types this client may use: "code" only with the code grant (RFC 7591
        §2.1). The column keeps its default for every client; a machine or device client's
        registration must not read back a response type its own update would be refused for."""
        if "authorization_code" not in self.grant_type_list:
            return []
        return _split(self.response_types)

    @property
    def client_id_issued_at(self) -> int:
        return int(self.created_at.timestamp())

    # --- authlib's ClientMixin ----------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = policies.usable_redirect_uris(self.redirect_uri_list)
        # RFC 6749 §3.1.2.3: a default only when exactly one URI is registered.
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client may have; with none requested, the configured
        default scopes (None when there is no default: the request is invalid_scope)."""
        return policies.allowed_scope(self.scope_list, scope)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Whether an authorization request's `redirect_uri` is one of this client's: the one rule
        for every answer sent there (a code, any error, the sign-in page's form-action)."""
        usable = policies.usable_redirect_uris(self.redirect_uri_list)
        if not self.is_public:
            # The any-port loopback rule (RFC 8252 §7.3) is for native apps, which are public
            # clients; a confidential client's loopback URI must match exactly (RFC 9700 §4.1.3).
            return bool(redirect_uri) and redirect_uri in usable
        return policies.redirect_uri_matches(redirect_uri, usable)

    def check_client_secret(self, client_secret: str) -> bool:
        """True when `client_secret` matches one of this client's unexpired secrets."""
        if self.is_public or not client_secret:
            return False
        candidates = getattr(self, "loaded_secrets", None)
        if candidates is None:
            # Not read by `hotpath.sql.active_client` (console, commands): read them now, not
            # cached, so a rotation in between is seen.
            candidates = list(self.secrets.values_list("digest", "expires_at"))
        matched = credentials.matching_digest(client_secret, candidates, timezone.now())
        # Which secret: the token's INSERT confirms a provisional client's (`token_insert`).
        self.authenticated_digest = matched
        return matched is not None

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
        # A client without the code grant (a client_credentials machine client, e.g. one holding
        # the operator scopes) never reaches the consent page.
        return response_type in self.response_type_list

    def check_post_logout_redirect_uri(self, uri: str) -> bool:
        """RP-Initiated Logout §3: exactly one of the registered URIs (that today's policy accepts)."""
        return bool(uri) and uri in policies.usable_redirect_uris(self.post_logout_redirect_uris.split())

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_type_list
