"""Client forms. They validate through the server's policies and never write: services do."""

import json

from django import forms
from django.contrib.auth import get_user_model

from oauth_console import operator_scopes
from server import jwks_policy, policies, services
from server.models import Client

GRANT_CHOICES = [(grant, grant) for grant in policies.SUPPORTED_GRANT_TYPES]
AUTH_METHOD_CHOICES = [
    ("client_secret_basic", "client_secret_basic (HTTP Basic)"),
    ("client_secret_post", "client_secret_post (form body)"),
    ("private_key_jwt", "private_key_jwt (a JWT signed with the client's own key; no secret)"),
    ("none", "none (public clients)"),
]
GRACE_CHOICES = [
    ("immediately", "Immediately: the old secret stops working now"),
    ("1h", "1 hour"),
    ("24h", "24 hours"),
    ("7d", "7 days"),
]


# OpenID Connect client metadata, on the client page, the portal and in imports.
OIDC_FIELDS = policies.OIDC_METADATA_FIELDS


def _lines(value: str) -> list[str]:
    return [item for item in value.split() if item]


class PolicyURLField(forms.URLField):
    """A URL input (the url widget, https assumed) that only the policy judges: Django's own
    URLValidator would answer first with "Enter a valid URL.", never saying what is wrong (a host
    with `;` or `_`, ...); `policies.validate_web_uri` says it, and runs that validator last."""

    default_validators = []


def page_url_field(label: str, help_text: str) -> forms.URLField:
    """A form field for one of a client's own pages (client_uri, logo_uri, policy_uri, tos_uri),
    as long as the model's column holds; the service's URL policy decides what is accepted."""
    return PolicyURLField(
        required=False,
        max_length=Client._meta.get_field("client_uri").max_length,
        assume_scheme="https",
        label=label,
        help_text=help_text,
    )


def policy_checked(check, value: str, field: str | None = None) -> str:
    """`check(value)` (a `server.policies` validator), its refusal as this field's error."""
    try:
        return check(value, field=field) if field else check(value)
    except policies.PolicyError as error:
        raise forms.ValidationError(str(error)) from None


class ClientSettingsForm(forms.ModelForm):
    """A client's editable settings, checked against `server.policies` field by field.

    `save()` never writes: the admin and the create view pass `service_changes()` to
    `services.create_client` / `services.update_client`, the one write path.
    """

    redirect_uris = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line. https, or http only for 127.0.0.1 / [::1]; no fragments, no wildcards.",
    )
    grant_types = forms.MultipleChoiceField(
        choices=GRANT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["authorization_code", "refresh_token"],
    )
    scope = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Scopes this client may request.",
    )
    token_endpoint_auth_method = forms.ChoiceField(
        choices=AUTH_METHOD_CHOICES,
        required=False,
        help_text="Leave empty for the type's default (client_secret_basic, or none for public clients).",
    )
    client_uri = page_url_field(
        "Client URI",
        "https:// only, no user information: end users are linked to it.",
    )
    logo_uri = page_url_field(
        "Logo URI",
        "https:// only. Kept as metadata: our pages never load it.",
    )
    policy_uri = page_url_field(
        "Privacy policy URI",
        "https:// only, no user information: shown (as text) on the consent page.",
    )
    tos_uri = page_url_field(
        "Terms of service URI",
        "https:// only, no user information: shown (as text) on the consent page.",
    )
    contacts = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Email addresses, one per line.",
    )
    jwks = forms.CharField(
        required=False,
        label="JWK Set (jwks)",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "font-monospace"}),
        help_text='For private_key_jwt: the client\'s public keys as a JWK Set ({"keys": [...]}), RSA '
        "or EC P-256. Never a private key. Or give a jwks_uri instead.",
    )
    jwks_uri = PolicyURLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="JWK Set URL (jwks_uri)",
        help_text="For private_key_jwt: an https:// URL serving the client's public keys; fetched "
        "through the server's SSRF guard, cached for the response's max-age.",
    )
    post_logout_redirect_uris = forms.CharField(
        required=False,
        label="Post-logout redirect URIs",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="OpenID Connect: where logout may send the browser back to. One per line, the rules of "
        "redirect URIs.",
    )

    class Meta:
        model = Client
        fields = [
            "name",
            "description",
            "redirect_uris",
            "grant_types",
            "scope",
            "token_endpoint_auth_method",
            "client_uri",
            "logo_uri",
            "policy_uri",
            "tos_uri",
            "contacts",
            "jwks",
            "jwks_uri",
            "require_consent",
            "can_introspect_any_token",
            *OIDC_FIELDS,
        ]
        labels = {
            "id_token_signed_response_alg": "ID token signing algorithm",
            "default_max_age": "Default max age (seconds)",
            "userinfo_signed_response_alg": "UserInfo signing algorithm",
            "token_endpoint_auth_signing_alg": "Client assertion algorithm",
            "require_auth_time": "Require auth_time",
            "backchannel_logout_uri": "Back-channel logout URI",
            "backchannel_logout_session_required": "Back-channel logout needs sid",
            "sector_identifier_uri": "Sector identifier URI",
            "frontchannel_logout_uri": "Front-channel logout URI",
            "frontchannel_logout_session_required": "Front-channel logout needs iss and sid",
        }
        help_texts = {
            "id_token_signed_response_alg": "RS256 (every relying party supports it) or ES256.",
            "subject_type": "public: the same sub for every client. pairwise: a sub of its own for "
            "this client's sector (the host of its redirect URIs, which must all be on one host, or "
            "of its sector identifier URI).",
            "sector_identifier_uri": "Optional, https: a JSON array listing every redirect URI, "
            "fetched when it or the redirect URIs change. Its host is the pairwise sector, so "
            "clients on several hosts can share one.",
            "userinfo_signed_response_alg": "Empty: UserInfo answers plain JSON. RS256 or ES256: a "
            "signed JWT (application/jwt).",
            "token_endpoint_auth_signing_alg": "private_key_jwt only: the one algorithm the client's "
            "assertions must be signed with. Empty: RS256, PS256 or ES256.",
            "default_max_age": "Sign in again when the last sign-in is older than this, unless the "
            "request names its own max_age. Empty: no limit.",
            "require_auth_time": "Every ID token carries auth_time (a sign-in of unknown time signs "
            "in again).",
            "backchannel_logout_uri": "OpenID Connect: where the server POSTs a logout token when a "
            "person who signed in to this client signs out (https; through the SSRF guard).",
            "backchannel_logout_session_required": "The client needs the session id (sid) in logout "
            "tokens and ID tokens (this server always sends it).",
            "frontchannel_logout_uri": "OpenID Connect: a page of the client's that the sign-out "
            "page loads in a hidden iframe; on the scheme, host and port of one of its redirect URIs.",
            "frontchannel_logout_session_required": "Add iss and sid to the front-channel logout "
            "URI's query.",
            "require_consent": "Ask the user to approve this client every time, even when an earlier "
            "approval covers the scopes it asks for.",
            "can_introspect_any_token": "May ask /oauth/introspect about tokens issued to other clients "
            "(for a resource server). Without it, a client learns only about its own tokens.",
        }

    # The operator scopes this form's user may grant (and must hold to change a client holding
    # some): `operator_scopes.held_by(user)`, given by the view or ModelAdmin.get_form. A form
    # nobody told about its user grants none.
    operator_scopes_allowed: tuple[str, ...] = ()

    def __init__(self, *args, operator_scopes_allowed=None, **kwargs):
        super().__init__(*args, **kwargs)
        if operator_scopes_allowed is not None:
            self.operator_scopes_allowed = tuple(operator_scopes_allowed)
        # An operator may also grant the operator API's scopes (to a client_credentials-only client).
        self.fields["scope"].choices = [
            (name, f"{name}: {text}") for name, text in policies.configured_scopes().items()
        ] + [(name, f"{name} (operator API): {text}") for name, text in policies.operator_scopes().items()]
        self.fields["token_endpoint_auth_method"].choices = [("", "(default)"), *AUTH_METHOD_CHOICES]
        for name in ("id_token_signed_response_alg", "subject_type"):
            if name in self.fields:
                self.fields[name].required = False  # left out: the policy's default (RS256, public)
        if self.instance.pk:
            # The stored space/newline-separated strings become lists for the widgets.
            self.initial.update(
                redirect_uris="\n".join(self.instance.redirect_uri_list),
                grant_types=self.instance.grant_type_list,
                scope=self.instance.scope_list,
                contacts="\n".join(self.instance.contacts or []),
                post_logout_redirect_uris="\n".join(self.instance.post_logout_redirect_uris.split()),
                jwks=json.dumps(self.instance.jwks, indent=2) if self.instance.jwks else "",
            )

    def effective_client_type(self) -> str:
        return self.instance.client_type

    def clean_contacts(self) -> list[str]:
        contacts = _lines(self.cleaned_data.get("contacts", "").replace(",", " "))
        validate = forms.EmailField().clean
        for contact in contacts:
            try:
                validate(contact)
            except forms.ValidationError:
                raise forms.ValidationError(f"{contact!r} is not an email address.") from None
        return contacts

    def clean_redirect_uris(self) -> list[str]:
        return _lines(self.cleaned_data.get("redirect_uris", ""))

    def clean_post_logout_redirect_uris(self) -> list[str]:
        return _lines(self.cleaned_data.get("post_logout_redirect_uris", ""))

    # The name and the client's pages: the server's policy, each refusal next to its field.
    def clean_name(self) -> str:
        return policy_checked(policies.validate_client_name, self.cleaned_data.get("name", ""))

    def clean_client_uri(self) -> str:
        return policy_checked(
            policies.validate_web_uri, self.cleaned_data.get("client_uri", ""), "client_uri"
        )

    def clean_logo_uri(self) -> str:
        return policy_checked(policies.validate_web_uri, self.cleaned_data.get("logo_uri", ""), "logo_uri")

    def clean_policy_uri(self) -> str:
        return policy_checked(
            policies.validate_web_uri, self.cleaned_data.get("policy_uri", ""), "policy_uri"
        )

    def clean_tos_uri(self) -> str:
        return policy_checked(policies.validate_web_uri, self.cleaned_data.get("tos_uri", ""), "tos_uri")

    def clean_jwks(self) -> dict | None:
        try:
            return jwks_policy.checked_jwks(self.cleaned_data.get("jwks", "").strip())
        except jwks_policy.ClientKeyError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_jwks_uri(self) -> str:
        return policy_checked(policies.validate_web_uri, self.cleaned_data.get("jwks_uri", ""), "jwks_uri")

    def clean_backchannel_logout_uri(self) -> str:
        return policy_checked(
            policies.validate_backchannel_logout_uri, self.cleaned_data.get("backchannel_logout_uri", "")
        )

    def clean_sector_identifier_uri(self) -> str:
        value = self.cleaned_data.get("sector_identifier_uri", "")
        return policy_checked(policies.validate_web_uri, value, "sector_identifier_uri")

    def _post_clean(self):
        # Instead of copying values onto the model (the service does the write), check them
        # against the server's policies and put each refusal next to its field.
        if self.errors:
            return
        data = self.cleaned_data
        try:
            policies.validate_client_settings(
                client_type=self.effective_client_type(),
                redirect_uris=data.get("redirect_uris", []),
                grant_types=data.get("grant_types", []),
                scope=data.get("scope", []),
                token_endpoint_auth_method=data.get("token_endpoint_auth_method") or None,
                **{name: data[name] for name in OIDC_FIELDS if name in data},
                operator_scopes_allowed=list(self.operator_scopes_allowed),
                jwks=data.get("jwks"),
                jwks_uri=data.get("jwks_uri", ""),
                stored_sector=policies.StoredSector.of(self.instance) if self.instance.pk else None,
            )
        except policies.PolicyError as error:
            self.add_error(error.field if error.field in self.fields else None, str(error))

    def service_changes(self) -> dict:
        """Keyword arguments for services.create_client / update_client (an operator's door: it
        may grant the operator scopes its user holds)."""
        data = self.cleaned_data
        changes = {name: data[name] for name in services.CLIENT_FIELDS_EDITABLE if name in data}
        changes["token_endpoint_auth_method"] = data.get("token_endpoint_auth_method") or None
        changes["operator_scopes_allowed"] = list(self.operator_scopes_allowed)
        return changes


class ClientCreateForm(ClientSettingsForm):
    """A new client: its settings plus type and owner. The server makes its id and secret."""

    client_type = forms.ChoiceField(choices=Client.Type.choices, initial=Client.Type.CONFIDENTIAL)
    owner = forms.CharField(
        required=False,
        max_length=150,
        label="Owner (user name)",
        help_text="Optional: the developer who owns this client.",
    )

    field_order = ["name", "client_type", "owner", "description"]

    def effective_client_type(self) -> str:
        return self.cleaned_data.get("client_type", Client.Type.CONFIDENTIAL)

    def clean_owner(self):
        username = self.cleaned_data.get("owner", "").strip()
        if not username:
            return None
        user_model = get_user_model()
        owner = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if owner is None:
            raise forms.ValidationError(f"No user is called {username!r}.")
        return owner

    def service_changes(self) -> dict:
        changes = super().service_changes()
        changes.update(client_type=self.cleaned_data["client_type"], owner=self.cleaned_data["owner"])
        if changes["token_endpoint_auth_method"] is None:
            changes.pop("token_endpoint_auth_method")
        return changes


class RotateSecretForm(forms.Form):
    """How long the current secret keeps working after the new one is issued."""

    grace = forms.ChoiceField(
        label="Old secret keeps working for",
        choices=GRACE_CHOICES,
        initial="24h",
        widget=forms.RadioSelect,
        help_text="During the grace period both secrets authenticate; after it, only the new one.",
    )

    def grace_period(self):
        return services.GRACE_PERIODS[self.cleaned_data["grace"]]


class StatusChangeForm(forms.Form):
    """Why a client is being disabled, enabled, approved or rejected (kept on the client)."""

    reason = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional; shown on the client and recorded in the audit log.",
    )


def for_user(form_class: type[ClientSettingsForm], user) -> type[ClientSettingsForm]:
    """`form_class` granting (and changing clients holding) only the operator scopes `user`
    holds (finding 6 of the December review, docs/security.md); for ModelAdmin.get_form."""
    held = operator_scopes.held_by(user)
    return type(form_class.__name__, (form_class,), {"operator_scopes_allowed": held})
