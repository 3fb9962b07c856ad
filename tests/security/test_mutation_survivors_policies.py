"""server/policies.py, function by function: what is refused, with which message, field and code.

Written for `make mutation` (docs/testing.md): the other tests reach these functions through forms,
registration and the protocol, and check that a value is refused, seldom how. Here each refusal is
pinned to its exact message (what a person reads to fix the value), its field (which form field
shows it) and its code (which RFC 7591 error registration answers), and each boundary is tried on
both sides. Pure functions: no database.
"""

import pytest

from server import policies
from server.policies import PolicyError

RDR = {"field": "redirect_uris", "code": "invalid_redirect_uri"}


def refusal(check, *args, **kwargs) -> tuple[str, str, str]:
    with pytest.raises(PolicyError) as caught:
        check(*args, **kwargs)
    return str(caught.value), caught.value.field, caught.value.code


# --- redirect URIs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "A redirect URI cannot be empty."),
        ("   ", "A redirect URI cannot be empty."),
        ("https://a.example/" + "x" * 1983, "This redirect URI is too long."),
        (
            "https://a.example/c b",
            "'https://a.example/c b' contains spaces, control or invisible characters.",
        ),
        (
            "https://a.example/c\x7fb",
            "'https://a.example/c\\x7fb' contains spaces, control or invisible characters.",
        ),
        (
            "https://a.example/\u202ecb",
            "'https://a.example/\\u202ecb' contains spaces, control or invisible characters.",
        ),
        (
            "https://a.example\\@evil.example/",
            "https://a.example\\@evil.example/: a backslash is not allowed in a URI.",
        ),
        (
            'https://a.example/"cb',
            'https://a.example/"cb: contains a character URIs cannot hold (" < > ` { } | ^); '
            "percent-encode it.",
        ),
        (
            "https://*.example/cb",
            "https://*.example/cb: wildcards are not allowed; register each URI exactly.",
        ),
        ("https://a.example:99999/cb", "https://a.example:99999/cb is not a valid URI."),
        ("https://[::1/cb", "https://[::1/cb is not a valid URI."),
        (
            "https://a.example/cb#",
            "https://a.example/cb#: a redirect URI must not contain a fragment (#...).",
        ),
        ("/callback", "/callback is not an absolute URI."),
        (
            "https://user@a.example/cb",
            "https://user@a.example/cb: user information (user@host) is not allowed.",
        ),
        (
            "com.example.app://user@cb",
            "com.example.app://user@cb: user information (user@host) is not allowed.",
        ),
        ("https:///cb", "https:///cb has no host."),
        (
            "http://a.example/cb",
            "http://a.example/cb: plain http is only allowed for loopback addresses (127.0.0.1, [::1]); "
            "use https.",
        ),
        (
            "http://127.0.0.2/cb",
            "http://127.0.0.2/cb: plain http is only allowed for loopback addresses (127.0.0.1, [::1]); "
            "use https.",
        ),
        ("javascript:alert(1)", "javascript:alert(1): the javascript scheme is not allowed."),
        ("JavaScript:alert(1)", "JavaScript:alert(1): the javascript scheme is not allowed."),
        ("data:text/html,hi", "data:text/html,hi: the data scheme is not allowed."),
        ("file:///etc/passwd", "file:///etc/passwd: the file scheme is not allowed."),
        ("vbscript:msgbox", "vbscript:msgbox: the vbscript scheme is not allowed."),
        ("ftp://a.example/cb", "ftp://a.example/cb: the ftp scheme is not allowed."),
        ("ws://a.example/cb", "ws://a.example/cb: the ws scheme is not allowed."),
        ("wss://a.example/cb", "wss://a.example/cb: the wss scheme is not allowed."),
        (
            "myapp:/callback",
            "myapp:/callback: a custom scheme must be a reverse domain name you control "
            "(com.example.app:/cb).",
        ),
    ],
)
def test_a_refused_redirect_uri_says_why(uri, message):
    assert refusal(policies.validate_redirect_uri, uri) == (message, *RDR.values())


@pytest.mark.parametrize(
    ("uri", "stored"),
    [
        ("  https://a.example/cb  ", "https://a.example/cb"),
        ("https://a.example/" + "x" * 1982, "https://a.example/" + "x" * 1982),
        ("HTTPS://a.example/cb", "HTTPS://a.example/cb"),
        ("http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb"),
        ("http://[::1]/cb", "http://[::1]/cb"),
        ("http://localhost:3000/cb", "http://localhost:3000/cb"),
        ("com.example.app:/callback", "com.example.app:/callback"),
    ],
)
def test_an_accepted_redirect_uri_is_stored_stripped(uri, stored):
    assert policies.validate_redirect_uri(uri) == stored


def test_no_redirect_uri_matches_nothing_even_an_empty_registration():
    """Kills server.policies.x_redirect_uri_matches__mutmut_2 (an empty URI matches). Every caller
    checks for an empty URI first, and Client splits its list without empty entries; a list read
    as `"".split("\\n")` would hold one, and must still not let "" through."""
    assert policies.redirect_uri_matches("", [""]) is False
    assert policies.redirect_uri_matches("", ["https://a.example/cb"]) is False
    assert policies.redirect_uri_matches("https://a.example/cb", ["", "https://a.example/cb"]) is True


def test_redirect_uri_lists_drop_blank_lines_and_check_the_rest():
    assert policies.validate_redirect_uris(["https://a.example/1", "  ", "https://a.example/2 "]) == [
        "https://a.example/1",
        "https://a.example/2",
    ]
    with pytest.raises(PolicyError):
        policies.validate_redirect_uris(["https://a.example/1", "http://a.example/2"])


# --- the pages a client links to ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://a.example/" + "x" * 483, "This URL is too long (at most 500 characters)."),
        ("https://a.example/a b", "This URL contains spaces, control or invisible characters."),
        ("https://a.example/\u200bx", "This URL contains spaces, control or invisible characters."),
        ("https://a.example\\evil.example/", "This URL contains a backslash; browsers read it differently."),
        (
            "https://a.example/<b>",
            'This URL contains a character URLs cannot hold (" < > ` { } | ^); percent-encode it.',
        ),
        ("https://a.example:99999/", "This is not a valid URL."),
        ("http://a.example/", "Use an https:// address."),
        ("javascript://a.example/%0aalert(1)", "Use an https:// address."),
        ("https://user@a.example/", "This URL must not contain user information (user@host)."),
        ("https://a/", "This is not a valid https:// URL."),
    ],
)
def test_a_refused_web_uri_says_why_on_its_own_field(uri, message):
    assert refusal(policies.validate_web_uri, uri, field="logo_uri") == (
        message,
        "logo_uri",
        "invalid_client_metadata",
    )


@pytest.mark.parametrize(
    ("uri", "stored"),
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("  https://a.example/about  ", "https://a.example/about"),
        ("HTTPS://a.example/", "HTTPS://a.example/"),
        ("https://a.example/" + "x" * 482, "https://a.example/" + "x" * 482),
    ],
)
def test_an_accepted_web_uri_is_stored_stripped(uri, stored):
    assert policies.validate_web_uri(uri, field="client_uri") == stored


def test_a_page_shows_only_a_link_the_policy_accepts():
    assert policies.displayable_web_uri("https://a.example/") == "https://a.example/"
    assert policies.displayable_web_uri("javascript:alert(1)") == ""
    assert policies.displayable_web_uri("") == ""


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "", "   ", "x" * 101])
def test_a_name_has_one_to_a_hundred_characters(name):
    assert refusal(policies.validate_client_name, name) == (
        "A client name has 1 to 100 characters.",
        "name",
        "invalid_client_metadata",
    )


@pytest.mark.parametrize(
    "name", ["two\nlines", "tab\there", "no\u00a0break", "evil\u202eppa", "zero\u200bwidth"]
)
def test_a_name_with_breaks_or_invisible_characters_is_refused(name):
    assert refusal(policies.validate_client_name, name) == (
        "A client name cannot contain line breaks, tabs, control characters or invisible "
        "formatting characters (such as right-to-left overrides).",
        "name",
        "invalid_client_metadata",
    )


def test_an_accepted_name_is_stripped_and_may_hold_spaces():
    assert policies.validate_client_name("  My  App  ") == "My  App"
    assert policies.validate_client_name("x" * 100) == "x" * 100


# --- scopes and grant types --------------------------------------------------------------------


def test_unknown_scopes_are_listed_once_sorted_with_the_known_ones():
    assert refusal(policies.validate_scopes, ["read", "zz", "aa", "zz"]) == (
        "Unknown scope(s): aa, zz. Known scopes: openid, profile, email, address, phone, read, write.",
        "scope",
        "invalid_client_metadata",
    )


def test_known_scopes_are_kept_in_order_without_duplicates():
    assert policies.validate_scopes(["write", "read", "write"]) == ["write", "read"]
    assert policies.validate_scopes([]) == []


def test_grant_type_refusals():
    assert refusal(policies.validate_grant_types, ["password", "implicit", "password"], public=False) == (
        "Unsupported grant type(s): implicit, password. "
        "Supported: authorization_code, refresh_token, client_credentials, "
        "urn:ietf:params:oauth:grant-type:device_code.",
        "grant_types",
        "invalid_client_metadata",
    )
    assert refusal(policies.validate_grant_types, [], public=False) == (
        "Choose at least one grant type.",
        "grant_types",
        "invalid_client_metadata",
    )
    assert refusal(
        policies.validate_grant_types, ["authorization_code", "client_credentials"], public=True
    ) == (
        "A public client has no secret, so it cannot use client_credentials.",
        "grant_types",
        "invalid_client_metadata",
    )


def test_accepted_grant_types_are_kept_in_order_without_duplicates():
    grants = ["refresh_token", "authorization_code", "refresh_token"]
    assert policies.validate_grant_types(grants, public=True) == ["refresh_token", "authorization_code"]
    assert policies.validate_grant_types(["client_credentials"], public=False) == ["client_credentials"]


# --- the scope a request gets ------------------------------------------------------------------


def test_the_scope_granted_is_what_was_asked_and_allowed_in_the_order_asked(settings):
    settings.OAUTH2_DEFAULT_SCOPES = ["email", "profile", "email"]
    assert policies.allowed_scope(["read", "profile", "email"], "email  read admin read") == "email read"
    assert policies.allowed_scope(["read"], "admin") == ""
    assert policies.allowed_scope(["read", "profile", "email"], None) == "email profile"
    assert policies.allowed_scope(["read", "profile", "email"], "") == "email profile"
    assert policies.allowed_scope(["read"], None) is None
    assert policies.default_scope(["read"]) == ""


# --- a client's settings as a whole -----------------------------------------------------------

CONFIDENTIAL = {
    "client_type": "confidential",
    "redirect_uris": ["https://a.example/cb", " ", "https://a.example/cb2"],
    "grant_types": ["authorization_code", "refresh_token"],
    "scope": ["read", "profile", "read"],
}


def test_settings_are_normalised_for_storage():
    assert policies.validate_client_settings(
        **CONFIDENTIAL, name="  App ", client_uri=" https://a.example/ ", logo_uri="https://a.example/l.png"
    ) == policies.ClientSettings(
        redirect_uris="https://a.example/cb\nhttps://a.example/cb2",
        grant_types="authorization_code refresh_token",
        scope="read profile",
        token_endpoint_auth_method="client_secret_basic",
        name="App",
        client_uri="https://a.example/",
        logo_uri="https://a.example/l.png",
    )


def test_each_client_type_gets_its_default_authentication_method():
    public = {**CONFIDENTIAL, "client_type": "public"}
    assert policies.validate_client_settings(**public).token_endpoint_auth_method == "none"
    settings = policies.validate_client_settings(
        **CONFIDENTIAL, token_endpoint_auth_method="client_secret_post"
    )
    assert settings.token_endpoint_auth_method == "client_secret_post"
    assert settings.name is None


def test_a_name_is_checked_only_when_given():
    with pytest.raises(PolicyError) as caught:
        policies.validate_client_settings(**CONFIDENTIAL, name="")
    assert caught.value.field == "name"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"client_uri": "http://a.example/"},
            ("Use an https:// address.", "client_uri", "invalid_client_metadata"),
        ),
        (
            {"logo_uri": "http://a.example/"},
            ("Use an https:// address.", "logo_uri", "invalid_client_metadata"),
        ),
        (
            {"client_type": "Public"},
            (
                "Unknown client type 'Public': use confidential or public.",
                "client_type",
                "invalid_client_metadata",
            ),
        ),
        (
            {"redirect_uris": [], "client_type": "public"},
            (
                "The authorization_code grant needs at least one redirect URI.",
                "redirect_uris",
                "invalid_redirect_uri",
            ),
        ),
        (
            {"token_endpoint_auth_method": "tls_client_auth"},
            (
                "Unsupported token endpoint auth method 'tls_client_auth'.",
                "token_endpoint_auth_method",
                "invalid_client_metadata",
            ),
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt"},
            (
                "private_key_jwt needs the client's public keys: register jwks (the JWK Set) or "
                "jwks_uri (an https URL serving it).",
                "jwks",
                "invalid_client_metadata",
            ),
        ),
        (
            {"token_endpoint_auth_method": "none"},
            (
                "Public clients authenticate with 'none'; confidential clients with a secret or "
                "private_key_jwt.",
                "token_endpoint_auth_method",
                "invalid_client_metadata",
            ),
        ),
        (
            {"client_type": "public", "token_endpoint_auth_method": "client_secret_basic"},
            (
                "Public clients authenticate with 'none'; confidential clients with a secret or "
                "private_key_jwt.",
                "token_endpoint_auth_method",
                "invalid_client_metadata",
            ),
        ),
        (
            {"scope": ["admin"]},
            (
                "Unknown scope(s): admin. Known scopes: openid, profile, email, address, phone, read, write.",
                "scope",
                "invalid_client_metadata",
            ),
        ),
        (
            {"client_type": "public", "grant_types": ["client_credentials"]},
            (
                "A public client has no secret, so it cannot use client_credentials.",
                "grant_types",
                "invalid_client_metadata",
            ),
        ),
    ],
)
def test_refused_settings_say_which_field(changes, expected):
    assert refusal(policies.validate_client_settings, **{**CONFIDENTIAL, **changes}) == expected


def test_client_credentials_alone_needs_no_redirect_uri():
    settings = policies.validate_client_settings(
        client_type="confidential", redirect_uris=[], grant_types=["client_credentials"], scope=["read"]
    )
    assert (settings.redirect_uris, settings.grant_types) == ("", "client_credentials")


def test_a_policy_error_defaults_to_no_field_and_invalid_client_metadata():
    error = PolicyError("Nope.")
    assert (str(error), error.field, error.code) == ("Nope.", "", "invalid_client_metadata")
