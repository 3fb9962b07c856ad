"""What the API reads and answers. Input serializers are strict: unknown fields are refused
(`StrictSerializer`), and a value of the wrong JSON type is an error, never coerced (a number
where a string is expected, "true" where a boolean is). The server's policies
(`server.policies`, through the services) judge the values themselves."""

from __future__ import annotations

from rest_framework import serializers

from oauth_console.api.base import StrictSerializer
from oauth_console.audit.models import ActorKind, EventType, Outcome
from server import policies, services
from server.models import MAX_CLIENT_ID_LENGTH, Client, SigningKey, Token

MAX_LIST = 50


# --- strict JSON types ---------------------------------------------------------------------------


class Text(serializers.CharField):
    """A JSON string (not a number made into one); whitespace kept for the policies to judge."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Flag(serializers.BooleanField):
    """A JSON boolean (true/false); in a query string also "true"/"false"."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if data in ("true", "false") and self.context.get("query"):
            return data == "true"
        self.fail("invalid", input=data)


class Whole(serializers.IntegerField):
    """A JSON integer (not a string, a float or a boolean)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def _texts(max_length: int, **kwargs) -> serializers.ListField:
    return serializers.ListField(child=Text(max_length=max_length), max_length=MAX_LIST, **kwargs)


# --- clients -------------------------------------------------------------------------------------


class ClientOut(serializers.Serializer):
    client_id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    client_type = serializers.ChoiceField(choices=Client.Type.values)
    status = serializers.ChoiceField(choices=Client.Status.values)
    status_reason = serializers.CharField()
    source = serializers.ChoiceField(choices=Client.Source.values)
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    redirect_uris = serializers.ListField(child=serializers.CharField(), source="redirect_uri_list")
    grant_types = serializers.ListField(child=serializers.CharField(), source="grant_type_list")
    scope = serializers.ListField(child=serializers.CharField(), source="scope_list")
    token_endpoint_auth_method = serializers.CharField()
    client_uri = serializers.CharField()
    logo_uri = serializers.CharField()
    policy_uri = serializers.CharField()
    tos_uri = serializers.CharField()
    contacts = serializers.ListField(child=serializers.CharField())
    require_consent = serializers.BooleanField()
    can_introspect_any_token = serializers.BooleanField()
    id_token_signed_response_alg = serializers.CharField()
    subject_type = serializers.CharField()
    default_max_age = serializers.IntegerField(allow_null=True)
    require_auth_time = serializers.BooleanField()
    post_logout_redirect_uris = serializers.SerializerMethodField()
    jwks = serializers.JSONField(allow_null=True)
    jwks_uri = serializers.CharField()
    backchannel_logout_uri = serializers.CharField()
    backchannel_logout_session_required = serializers.BooleanField()
    frontchannel_logout_uri = serializers.CharField()
    frontchannel_logout_session_required = serializers.BooleanField()
    userinfo_signed_response_alg = serializers.CharField()
    token_endpoint_auth_signing_alg = serializers.CharField()
    sector_identifier_uri = serializers.CharField()
    pending_changes = serializers.SerializerMethodField()
    settings_fingerprint = serializers.SerializerMethodField(
        help_text="A digest of the settings read here: what POST /clients/{client_id}/approve sends back."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_post_logout_redirect_uris(self, client: Client) -> list[str]:
        return client.post_logout_redirect_uris.split()

    def get_pending_changes(self, client: Client) -> list[str]:
        """The fields of a developer's held changes (their values are in the console)."""
        return sorted(client.pending_changes or {})

    def get_settings_fingerprint(self, client: Client) -> str:
        return services.settings_fingerprint(client)


class ClientCreatedOut(ClientOut):
    client_secret = serializers.CharField(
        allow_null=True, help_text="Shown once (null for a public client, and in an idempotent replay)."
    )


class ClientSettingsIn(StrictSerializer):
    """A client's settings (PUT: the whole document; PATCH: some of them)."""

    name = Text(max_length=policies.MAX_CLIENT_NAME_LENGTH)
    description = Text(max_length=5000, allow_blank=True, default="")
    redirect_uris = _texts(policies.MAX_REDIRECT_URI_LENGTH, default=list)
    grant_types = serializers.ListField(
        child=serializers.ChoiceField(choices=policies.SUPPORTED_GRANT_TYPES),
        max_length=len(policies.SUPPORTED_GRANT_TYPES),
        default=["authorization_code", "refresh_token"],
    )
    scope = _texts(100, default=list)
    token_endpoint_auth_method = serializers.ChoiceField(
        choices=policies.SUPPORTED_AUTH_METHODS, allow_null=True, default=None
    )
    client_uri = Text(max_length=policies.MAX_WEB_URI_LENGTH, allow_blank=True, default="")
    logo_uri = Text(max_length=policies.MAX_WEB_URI_LENGTH, allow_blank=True, default="")
    # The privacy policy and terms of service (RFC 7591 §2), shown as text on the consent page.
    policy_uri = Text(max_length=policies.MAX_WEB_URI_LENGTH, allow_blank=True, default="")
    tos_uri = Text(max_length=policies.MAX_WEB_URI_LENGTH, allow_blank=True, default="")
    contacts = serializers.ListField(
        child=serializers.EmailField(max_length=254), max_length=20, default=list
    )
    require_consent = Flag(default=False)
    can_introspect_any_token = Flag(default=False)
    # OpenID Connect metadata: strings and numbers as JSON gives them; the policy judges the values
    # (one message for every door), so none is a ChoiceField here.
    id_token_signed_response_alg = Text(max_length=20, default="RS256")
    subject_type = Text(max_length=20, default="public")
    default_max_age = Whole(allow_null=True, default=None)
    require_auth_time = Flag(default=False)
    post_logout_redirect_uris = _texts(policies.MAX_REDIRECT_URI_LENGTH, default=list)
    # private_key_jwt: the client's public keys, a JWK Set or the https URL serving one.
    jwks = serializers.JSONField(allow_null=True, default=None)
    jwks_uri = Text(max_length=policies.MAX_WEB_URI_LENGTH, allow_blank=True, default="")
    # Back-Channel Logout: where logout tokens are POSTed (https), and whether it needs the sid.
    backchannel_logout_uri = Text(max_length=policies.MAX_WEB_URI_LENGTH, allow_blank=True, default="")
    backchannel_logout_session_required = Flag(default=False)
    # Front-Channel Logout: the page the sign-out page frames (a redirect URI's origin), and whether
    # it gets iss and sid.
    frontchannel_logout_uri = Text(max_length=policies.MAX_WEB_URI_LENGTH, allow_blank=True, default="")
    frontchannel_logout_session_required = Flag(default=False)
    # "": plain-JSON UserInfo / any assertion algorithm.
    userinfo_signed_response_alg = Text(max_length=20, allow_blank=True, default="")
    token_endpoint_auth_signing_alg = Text(max_length=20, allow_blank=True, default="")
    # Pairwise subject identifiers: an https URL serving a JSON array of every redirect URI
    # (fetched by the policy when it or the redirect URIs change); its host is the sector.
    sector_identifier_uri = Text(max_length=policies.MAX_WEB_URI_LENGTH, allow_blank=True, default="")


class ClientIn(ClientSettingsIn):
    """A new client (POST) or one created or replaced by PUT: its settings, type and owner."""

    client_type = serializers.ChoiceField(choices=Client.Type.values, default=Client.Type.CONFIDENTIAL)
    owner = Text(max_length=150, allow_null=True, default=None, help_text="The owner's user name.")


class ClientCreateIn(ClientIn):
    client_id = Text(max_length=MAX_CLIENT_ID_LENGTH, required=False, help_text="Generated when left out.")


class ClientQuery(StrictSerializer):
    status = serializers.ChoiceField(choices=Client.Status.values, required=False)
    client_type = serializers.ChoiceField(choices=Client.Type.values, required=False)
    source = serializers.ChoiceField(choices=Client.Source.values, required=False)
    owner = Text(max_length=150, required=False)
    name = Text(max_length=100, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)
    offset = serializers.IntegerField(min_value=0, required=False)


class ReasonIn(StrictSerializer):
    reason = Text(max_length=500, allow_blank=True, default="")


# --- secrets -------------------------------------------------------------------------------------


class SecretOut(serializers.Serializer):
    id = serializers.IntegerField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    is_expired = serializers.BooleanField()


class RotateIn(StrictSerializer):
    grace_period_seconds = Whole(
        min_value=0,
        max_value=30 * 24 * 3600,
        default=24 * 3600,
        help_text="How long the old secrets still work.",
    )


class RotatedOut(serializers.Serializer):
    client_id = serializers.CharField()
    client_secret = serializers.CharField(allow_null=True, help_text="Shown once.")
    secret = SecretOut()
    previous_secrets_expire_at = serializers.DateTimeField()


# --- tokens --------------------------------------------------------------------------------------

_STATES = Token.Status.values


class TokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    access_token_prefix = serializers.CharField()
    refresh_token_prefix = serializers.CharField()
    client_id = serializers.CharField(source="client.client_id")
    user = serializers.CharField(source="user.username", allow_null=True, default=None)
    grant_type = serializers.CharField()
    scope = serializers.CharField()
    state = serializers.ChoiceField(choices=_STATES, source="status")
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField()
    revoked_reason = serializers.CharField()
    rotated_at = serializers.DateTimeField(allow_null=True)
    family_id = serializers.UUIDField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class TokenCriteria(StrictSerializer):
    client_id = Text(max_length=MAX_CLIENT_ID_LENGTH, required=False)
    user = Text(max_length=150, required=False, help_text="The user's user name.")
    prefix = Text(
        max_length=16, required=False, help_text="The start of an access or refresh token's prefix."
    )
    issued_after = serializers.DateTimeField(required=False)
    issued_before = serializers.DateTimeField(required=False)


class TokenQuery(TokenCriteria):
    state = serializers.ChoiceField(choices=_STATES, required=False)
    cursor = Text(max_length=200, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)


class BulkRevokeIn(TokenCriteria):
    reason = Text(max_length=200)
    dry_run = Flag(default=False, help_text="Count the active tokens that would be revoked; revoke none.")

    def validate(self, attrs):
        if not any(attrs.get(name) for name in TokenCriteria().fields):
            raise serializers.ValidationError(
                {"_": ["Name at least one criterion (client_id, user, prefix, issued_after, issued_before)."]}
            )
        return attrs


class RevokedOut(serializers.Serializer):
    count = serializers.IntegerField(help_text="Tokens revoked (with dry_run: that would be).")
    dry_run = serializers.BooleanField()


# --- consents and initial access tokens ----------------------------------------------------------


class ConsentOut(serializers.Serializer):
    id = serializers.IntegerField()
    client_id = serializers.CharField(source="client.client_id")
    user = serializers.CharField(source="user.username")
    scope = serializers.ListField(child=serializers.CharField(), source="scope_list")
    granted_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ConsentQuery(StrictSerializer):
    client_id = Text(max_length=MAX_CLIENT_ID_LENGTH, required=False)
    user = Text(max_length=150, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)
    offset = serializers.IntegerField(min_value=0, required=False)


class InitialAccessTokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    prefix = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    max_registrations = serializers.IntegerField()
    registrations = serializers.IntegerField()
    allowed_scope = serializers.SerializerMethodField()
    allowed_grant_types = serializers.SerializerMethodField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    is_usable = serializers.BooleanField()

    def get_allowed_scope(self, row) -> list[str]:
        return row.allowed_scope.split()

    def get_allowed_grant_types(self, row) -> list[str]:
        return row.allowed_grant_types.split()


class InitialAccessTokenCreatedOut(InitialAccessTokenOut):
    token = serializers.CharField(allow_null=True, help_text="Shown once (null in an idempotent replay).")


class InitialAccessTokenIn(StrictSerializer):
    description = Text(max_length=200, allow_blank=True, default="")
    expires_at = serializers.DateTimeField(allow_null=True, default=None)
    max_registrations = Whole(min_value=1, max_value=10_000, default=1)
    allowed_scope = _texts(100, default=list)
    allowed_grant_types = serializers.ListField(
        child=serializers.ChoiceField(choices=policies.SUPPORTED_GRANT_TYPES),
        max_length=len(policies.SUPPORTED_GRANT_TYPES),
        default=["authorization_code", "refresh_token"],
    )


class InitialAccessTokenQuery(StrictSerializer):
    usable = Flag(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)
    offset = serializers.IntegerField(min_value=0, required=False)


# --- audit events and signing keys ---------------------------------------------------------------


class AuditEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.CharField()
    event_type = serializers.ChoiceField(choices=EventType.values)
    outcome = serializers.ChoiceField(choices=Outcome.values)
    actor_kind = serializers.ChoiceField(choices=ActorKind.values)
    actor_label = serializers.CharField()
    client_id = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField()
    token_id = serializers.IntegerField(allow_null=True)
    token_prefix = serializers.CharField()
    ip_address = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    request_id = serializers.CharField()
    detail = serializers.DictField()
    entry_hash = serializers.CharField()


class AuditQuery(StrictSerializer):
    event_type = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.values), required=False, help_text="Comma-separated."
    )
    client_id = Text(max_length=MAX_CLIENT_ID_LENGTH, required=False)
    actor = Text(max_length=200, required=False, help_text='An actor label, e.g. "client:abc".')
    actor_kind = serializers.ChoiceField(choices=ActorKind.values, required=False)
    outcome = serializers.ChoiceField(choices=Outcome.values, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    cursor = Text(max_length=200, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)

    def to_internal_value(self, data):
        if isinstance(data.get("event_type"), str):
            data = {**data, "event_type": [t for t in data["event_type"].split(",") if t]}
        return super().to_internal_value(data)


class SigningKeyOut(serializers.Serializer):
    kid = serializers.CharField()
    alg = serializers.ChoiceField(choices=SigningKey.Algorithm.values)
    state = serializers.ChoiceField(choices=SigningKey.State.values)
    published = serializers.BooleanField(help_text="In the JWKS now.")
    public_jwk = serializers.DictField()
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class KeyRotateIn(StrictSerializer):
    algs = serializers.ListField(
        child=serializers.ChoiceField(choices=SigningKey.Algorithm.values), required=False, allow_empty=False
    )
    force = Flag(default=False, help_text="Activate the next key now, without its lead time.")


class RotationStepOut(serializers.Serializer):
    action = serializers.ChoiceField(choices=["activated", "created", "waiting"])
    kid = serializers.CharField(source="key.kid")
    alg = serializers.CharField(source="key.alg")
    note = serializers.CharField()
