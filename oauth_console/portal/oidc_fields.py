"""The developer portal's OpenID Connect fields of an app (used when it asks for the openid scope),
declared once here for the register and edit forms (`forms.ClientForm` inherits them)."""

from django import forms

from server import policies


class OpenIDConnectFields(forms.Form):
    """OIDC Registration §2, RP-Initiated and Back-Channel Logout metadata; the server's policy
    judges the values (`ClientForm.clean`)."""

    id_token_signed_response_alg = forms.ChoiceField(
        label="ID token signing algorithm",
        choices=[(alg, alg) for alg in policies.ID_TOKEN_SIGNING_ALGORITHMS],
        initial="RS256",
        required=False,
        help_text="RS256 unless your OpenID Connect library supports ES256.",
    )
    subject_type = forms.ChoiceField(
        label="Subject type",
        choices=[(kind, kind) for kind in policies.SUBJECT_TYPES],
        initial="public",
        required=False,
        help_text="public: people have the same sub in every app. pairwise: a sub of their own "
        "for this app (all its redirect URLs must then be on one host, or be listed at your "
        "sector identifier URL).",
    )
    userinfo_signed_response_alg = forms.ChoiceField(
        label="UserInfo signing algorithm",
        choices=[("", "none: plain JSON"), *((alg, alg) for alg in policies.USERINFO_SIGNING_ALGORITHMS)],
        initial="",
        required=False,
        help_text="Leave it at plain JSON unless your library expects signed UserInfo (application/jwt).",
    )
    token_endpoint_auth_signing_alg = forms.ChoiceField(
        label="Signed JWT algorithm",
        choices=[
            ("", "any of RS256, PS256, ES256"),
            *((alg, alg) for alg in policies.AUTH_SIGNING_ALGORITHMS),
        ],
        initial="",
        required=False,
        help_text="For signed JWTs: accept assertions signed with this algorithm only.",
    )
    default_max_age = forms.IntegerField(
        label="Default max age (seconds)",
        required=False,
        min_value=0,
        max_value=policies.MAX_DEFAULT_MAX_AGE,
        help_text="Ask people to sign in again when their sign-in is older than this. Empty: no limit.",
    )
    require_auth_time = forms.BooleanField(label="Always include auth_time in ID tokens", required=False)
    post_logout_redirect_uris = forms.CharField(
        label="Sign-out return URLs (post_logout_redirect_uris)",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocapitalize": "off"}),
        required=False,
        help_text="Where people may be sent back to after signing out. One per line; the rules of "
        "redirect URIs apply.",
    )
    backchannel_logout_uri = forms.CharField(
        label="Back-channel logout URL (backchannel_logout_uri)",
        required=False,
        max_length=policies.MAX_WEB_URI_LENGTH,
        help_text="Where we POST a signed logout token when someone who signed in to your app signs "
        "out here (OpenID Connect Back-Channel Logout). An https:// address reachable from the internet.",
    )
    backchannel_logout_session_required = forms.BooleanField(
        label="My app needs the session id (sid) in logout tokens", required=False
    )
    frontchannel_logout_uri = forms.CharField(
        label="Front-channel logout URL (frontchannel_logout_uri)",
        required=False,
        max_length=policies.MAX_WEB_URI_LENGTH,
        help_text="A page of your app that our sign-out page loads in a hidden frame (OpenID Connect "
        "Front-Channel Logout), on the scheme, host and port of one of your redirect URLs.",
    )
    frontchannel_logout_session_required = forms.BooleanField(
        label="Add iss and sid to the front-channel logout URL", required=False
    )
    sector_identifier_uri = forms.CharField(
        label="Sector identifier URL (sector_identifier_uri)",
        required=False,
        max_length=policies.MAX_WEB_URI_LENGTH,
        help_text="For pairwise subject identifiers across several hosts: an https:// address "
        "serving a JSON array of all your redirect URLs. We read it when you save (it must list "
        "every redirect URL); its host becomes your apps' shared sector.",
    )
