"""Forms of the developer portal. They validate with the server's own policies, so a form
accepts exactly what `server.services` will store, and every refusal lands next to its field."""

import json

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from oauth_console.clients.forms import OIDC_FIELDS, PolicyURLField, page_url_field, policy_checked
from oauth_console.portal.oidc_fields import OpenIDConnectFields
from server import jwks_policy, policies, services
from server.models import Client

GRANT_TYPE_LABELS = {
    "authorization_code": "Authorization code: people sign in and approve your app (with PKCE)",
    "refresh_token": "Refresh token: keep access without asking the person again",
    "client_credentials": "Client credentials: your server acts on its own behalf (confidential apps only)",
    policies.DEVICE_CODE_GRANT_TYPE: (
        "Device code: people approve a TV, console or CLI by typing a code at /device"
    ),
}
AUTH_METHOD_LABELS = {
    "client_secret_basic": "A client secret we issue (sent with HTTP Basic)",
    "client_secret_post": "A client secret we issue (sent in the form body)",
    "private_key_jwt": "JWTs signed with your own private key (private_key_jwt): no secret to keep",
}
GRACE_PERIOD_LABELS = {
    "immediately": "Immediately: the old secret stops working now",
    "1h": "After 1 hour",
    "24h": "After 24 hours",
    "7d": "After 7 days",
}


def _helper(submit_label: str) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", submit_label))
    return helper


# User names nobody signs up with: they would pass for the operators or the service itself.
RESERVED_USERNAMES = frozenset(
    {
        "abuse", "admin", "administrator", "api", "help", "hostmaster", "info", "noreply",
        "no-reply", "oauth", "operator", "postmaster", "root", "security", "staff", "support",
        "system", "webmaster",
    }
)  # fmt: skip
USERNAME_UNAVAILABLE = "This user name is not available. Choose another one."


class DeveloperSignupForm(UserCreationForm):
    """Create a developer account (Django's password validators run on the password).

    A user name that is taken (in any case) and one that is reserved get the same refusal, so the
    form does not say "a user with that username already exists". It cannot hide every trace of
    an account (a name that is refused is one nobody can have); with no e-mail to tell the person
    by other means, probing is bounded instead: sign-up is rate-limited per address
    (`signup_ip`, server.ratelimit), like sign-in.
    """

    email = forms.EmailField(label="Email address", help_text="Operators write here about your apps.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Create account")

    def clean_username(self) -> str:
        # Replaces UserCreationForm's check, whose message names an existing account. A refused
        # name leaves cleaned_data, so the model's own uniqueness check (same message) skips it.
        username = self.cleaned_data.get("username")
        if username and (
            username.casefold() in RESERVED_USERNAMES
            or self._meta.model.objects.filter(username__iexact=username).exists()
        ):
            raise forms.ValidationError(USERNAME_UNAVAILABLE, code="username_unavailable")
        return username


class ClientForm(OpenIDConnectFields):
    """Register an app: what it is, where it sends people back to, and what it may ask for."""

    # Its own fields first, then the OpenID Connect ones it inherits.
    field_order = [
        *("name", "description", "client_uri", "policy_uri", "tos_uri", "logo_uri"),
        *("redirect_uris", "client_type"),
        *("grant_types", "scope", "token_endpoint_auth_method", "jwks", "jwks_uri"),
    ]

    name = forms.CharField(max_length=100, help_text="Shown to people when your app asks for access.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)
    client_uri = page_url_field(
        "Homepage URL",
        "An https:// address, without a user name or password in it.",
    )
    logo_uri = page_url_field(
        "Logo URL",
        "An https:// address. Our pages do not load it; operators see it in their review.",
    )
    policy_uri = page_url_field(
        "Privacy policy URL",
        "An https:// address. People see it (as text) when your app asks for access.",
    )
    tos_uri = page_url_field(
        "Terms of service URL",
        "An https:// address. People see it (as text) when your app asks for access.",
    )
    redirect_uris = forms.CharField(
        label="Redirect URIs",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "off"}),
        required=False,
        help_text="One per line. https://, or http:// only for 127.0.0.1 and [::1]; "
        "no fragments (#), no wildcards (*). A native app may use a reverse-domain scheme "
        "(com.example.app:/callback).",
    )
    client_type = forms.ChoiceField(
        label="App type",
        choices=Client.Type.choices,
        widget=forms.RadioSelect,
        initial=Client.Type.CONFIDENTIAL,
    )
    grant_types = forms.MultipleChoiceField(
        label="Grant types",
        widget=forms.CheckboxSelectMultiple,
        initial=["authorization_code", "refresh_token"],
    )
    scope = forms.MultipleChoiceField(label="Scopes", widget=forms.CheckboxSelectMultiple, required=False)
    token_endpoint_auth_method = forms.ChoiceField(
        label="How a confidential app proves itself",
        choices=AUTH_METHOD_LABELS.items(),
        initial="client_secret_basic",
        required=False,
        widget=forms.RadioSelect,
    )
    jwks = forms.CharField(
        label="Public keys (JWK Set)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "off"}),
        help_text='For signed JWTs: your public keys as a JWK Set ({"keys": [...]}), RSA or EC P-256. '
        "Never a private key. Or give a JWK Set URL instead.",
    )
    jwks_uri = PolicyURLField(
        label="JWK Set URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="For signed JWTs: an https:// address serving your public keys (we cache it "
        "for its max-age, so publish a new key that long before signing with it).",
    )
    submit_label = "Register app"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read at request time: the configured scopes come from settings.
        self.fields["grant_types"].choices = [
            (grant, GRANT_TYPE_LABELS.get(grant, grant)) for grant in policies.SUPPORTED_GRANT_TYPES
        ]
        self.fields["scope"].choices = [
            (scope, f"{scope}: {description}") for scope, description in policies.configured_scopes().items()
        ]
        self.helper = _helper(self.submit_label)

    # The same policy as every other door (server.policies), each refusal next to its field.
    def clean_name(self) -> str:
        return policy_checked(policies.validate_client_name, self.cleaned_data["name"])

    def clean_client_uri(self) -> str:
        return policy_checked(policies.validate_web_uri, self.cleaned_data["client_uri"], "client_uri")

    def clean_logo_uri(self) -> str:
        return policy_checked(policies.validate_web_uri, self.cleaned_data["logo_uri"], "logo_uri")

    def clean_policy_uri(self) -> str:
        return policy_checked(policies.validate_web_uri, self.cleaned_data["policy_uri"], "policy_uri")

    def clean_tos_uri(self) -> str:
        return policy_checked(policies.validate_web_uri, self.cleaned_data["tos_uri"], "tos_uri")

    def clean_redirect_uris(self) -> list[str]:
        uris = [line.strip() for line in self.cleaned_data["redirect_uris"].splitlines() if line.strip()]
        problems = []
        for uri in uris:
            try:
                policies.validate_redirect_uri(uri)
            except policies.PolicyError as error:
                problems.append(str(error))
        if problems:
            raise forms.ValidationError(problems)
        return list(dict.fromkeys(uris))

    def clean_jwks(self) -> dict | None:
        try:
            return jwks_policy.checked_jwks(self.cleaned_data["jwks"].strip())
        except jwks_policy.ClientKeyError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_jwks_uri(self) -> str:
        return policy_checked(policies.validate_web_uri, self.cleaned_data["jwks_uri"], "jwks_uri")

    def clean_backchannel_logout_uri(self) -> str:
        return policy_checked(
            policies.validate_backchannel_logout_uri, self.cleaned_data["backchannel_logout_uri"]
        )

    def clean_sector_identifier_uri(self) -> str:
        value = self.cleaned_data["sector_identifier_uri"]
        return policy_checked(policies.validate_web_uri, value, "sector_identifier_uri")

    def clean_post_logout_redirect_uris(self) -> list[str]:
        value = self.cleaned_data["post_logout_redirect_uris"]
        uris = [line.strip() for line in value.splitlines() if line.strip()]
        return policy_checked(policies.validate_post_logout_redirect_uris, uris)

    def client_type_value(self) -> str:
        return self.cleaned_data.get("client_type", "")

    def current_auth_method(self) -> str:
        return "client_secret_basic"

    def stored_sector(self) -> policies.StoredSector | None:
        return None  # a new app has no sector yet

    def auth_settings(self) -> dict:
        """The authentication method and keys to store: a public app has neither."""
        cleaned = self.cleaned_data
        if self.client_type_value() == Client.Type.PUBLIC:
            return {"token_endpoint_auth_method": None, "jwks": None, "jwks_uri": ""}
        return {
            "token_endpoint_auth_method": cleaned.get("token_endpoint_auth_method")
            or self.current_auth_method(),
            "jwks": cleaned.get("jwks"),
            "jwks_uri": cleaned.get("jwks_uri", ""),
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        needed = (
            "redirect_uris",
            "grant_types",
            "scope",
            *(f for f in ("jwks", "jwks_uri") if f in self.fields),
        )
        if self.client_type_value() and all(field in cleaned for field in needed):
            try:
                policies.validate_client_settings(
                    client_type=self.client_type_value(),
                    redirect_uris=cleaned["redirect_uris"],
                    grant_types=cleaned["grant_types"],
                    scope=cleaned["scope"],
                    **self.auth_settings(),
                    **{name: cleaned[name] for name in OIDC_FIELDS if name in cleaned},
                    stored_sector=self.stored_sector(),
                )
            except policies.PolicyError as error:
                add_policy_error(self, error)
        return cleaned


class ClientEditForm(ClientForm):
    """Change an app's settings; its type is fixed once registered (secrets depend on it)."""

    submit_label = "Save changes"

    def __init__(self, *args, client: Client, **kwargs):
        self.client = client
        super().__init__(*args, **kwargs)
        del self.fields["client_type"]
        if client.is_public:
            for name in ("token_endpoint_auth_method", "jwks", "jwks_uri"):
                del self.fields[name]

    def client_type_value(self) -> str:
        return self.client.client_type

    def current_auth_method(self) -> str:
        return self.client.token_endpoint_auth_method

    def stored_sector(self) -> policies.StoredSector:
        return policies.StoredSector.of(self.client)

    def clean(self) -> dict:
        cleaned = super().clean()
        # An operator approved this app for what it asked then; asking for more needs them again
        # (a pending app is still to be reviewed, so it may change freely).
        if self.client.status != Client.Status.PENDING and not settings.PORTAL_AUTO_APPROVE:
            for field, current in (
                ("scope", self.client.scope_list),
                ("grant_types", self.client.grant_type_list),
            ):
                added = sorted(set(cleaned.get(field) or []) - set(current))
                if added:
                    self.add_error(
                        field,
                        f"Adding {', '.join(added)} needs an operator's approval: ask them to add it, "
                        "or register a new app.",
                    )
        return cleaned

    @classmethod
    def initial_for(cls, client: Client) -> dict:
        """The form's starting values: the app as stored."""
        return {
            "name": client.name,
            "description": client.description,
            "client_uri": client.client_uri,
            "logo_uri": client.logo_uri,
            "policy_uri": client.policy_uri,
            "tos_uri": client.tos_uri,
            "redirect_uris": "\n".join(client.redirect_uri_list),
            "grant_types": client.grant_type_list,
            "scope": client.scope_list,
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
            "jwks": json.dumps(client.jwks, indent=2) if client.jwks else "",
            "jwks_uri": client.jwks_uri,
            **{name: getattr(client, name) for name in OIDC_FIELDS},
            "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uris.split()),
            "backchannel_logout_uri": client.backchannel_logout_uri,
            "backchannel_logout_session_required": client.backchannel_logout_session_required,
            "userinfo_signed_response_alg": client.userinfo_signed_response_alg,
            "token_endpoint_auth_signing_alg": client.token_endpoint_auth_signing_alg,
            "sector_identifier_uri": client.sector_identifier_uri,
        }

    def service_changes(self) -> dict:
        """Keyword arguments for the update services (a public app's method is not the form's)."""
        changes = dict(self.cleaned_data)
        if not self.client.is_public:
            changes.update(self.auth_settings())
        return changes


def add_policy_error(form: forms.Form, error: policies.PolicyError) -> None:
    """Put a service's refusal next to the field it is about (or on top of the form)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error))


class RotateSecretForm(forms.Form):
    """Choose how long the current secret keeps working after the new one is issued."""

    grace = forms.ChoiceField(
        label="The current secret stops working",
        choices=[(key, GRACE_PERIOD_LABELS.get(key, key)) for key in services.GRACE_PERIODS],
        initial="24h",
        widget=forms.RadioSelect,
        help_text="Give your deployments time to switch to the new secret.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Rotate secret")
