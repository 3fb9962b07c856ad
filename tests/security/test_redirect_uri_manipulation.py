"""RFC 9700 §4.1: redirect URI manipulation. Exact matching; nothing but a registered URI is ever
redirected to, and a refused request shows an error page instead of redirecting anywhere.
Black-box against the live server."""

from urllib.parse import urlsplit

import pytest

from server.models import AuthorizationCode, Client
from tests.ids import plain_id
from tests.security.conftest import pkce_pair, query_of

pytestmark = pytest.mark.django_db(transaction=True)

REGISTERED = ["https://app.example.com/callback", "https://app.example.com/cb?tenant=a"]


@pytest.fixture
def web_app(make_client):
    return make_client("Web app", redirect_uris=REGISTERED)


def authorize_with(live_browser, client_id: str, redirect_uri: str):
    _, challenge = pkce_pair()
    return live_browser.authorize(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "profile",
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )


def assert_not_redirected(response):
    # Shown to the person, never sent on: no Location, no code minted.
    assert response.status_code == 400, (response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers
    assert response.headers["X-Frame-Options"] == "DENY"
    assert AuthorizationCode.objects.count() == 0


MANIPULATIONS = {
    "extra_path": "https://app.example.com/callback/evil",
    "path_traversal": "https://app.example.com/callback/../evil",
    "extra_query": "https://app.example.com/callback?next=https://evil.example",
    "changed_query": "https://app.example.com/cb?tenant=b",
    "added_query_parameter": "https://app.example.com/cb?tenant=a&tenant=b",
    "fragment": "https://app.example.com/callback#evil",
    "empty_fragment": "https://app.example.com/callback#",
    "trailing_slash": "https://app.example.com/callback/",
    "other_scheme_http": "http://app.example.com/callback",
    "other_scheme_custom": "com.evil.app:/callback",
    "javascript_scheme": "javascript:alert(1)//https://app.example.com/callback",
    "other_host": "https://evil.example.com/callback",
    "subdomain_suffix": "https://app.example.com.evil.example/callback",
    "host_case": "https://APP.example.com/callback",
    "userinfo_good_at_evil": "https://app.example.com@evil.example/callback",
    "userinfo_before_good": "https://evil@app.example.com/callback",
    "explicit_default_port": "https://app.example.com:443/callback",
    "other_port": "https://app.example.com:8443/callback",
    "encoded_path": "https://app.example.com/%63allback",
    "encoded_slash": "https://app.example.com/callback%2F..%2Fevil",
    "encoded_at_sign": "https://app.example.com%40evil.example/callback",
    "backslash": "https://app.example.com\\@evil.example/callback",
    "unicode_lookalike": "https://app.examp\u0142e.com/callback",
    "whitespace_padding": " https://app.example.com/callback",
    "unregistered": "https://other.example.org/",
}


@pytest.mark.parametrize("redirect_uri", MANIPULATIONS.values(), ids=MANIPULATIONS.keys())
def test_redirect_uri_manipulation_is_never_redirected_to(live_browser, web_app, redirect_uri):
    app, _ = web_app
    assert_not_redirected(authorize_with(live_browser, app.client_id, redirect_uri))


def test_registered_redirect_uris_still_work(live_browser, web_app):
    """The control for the manipulations above: exact registered URIs are redirected to."""
    app, _ = web_app
    for uri in REGISTERED:
        response = authorize_with(live_browser, app.client_id, uri)
        assert response.status_code == 302
        location = response.headers["Location"]
        assert location.startswith(uri + ("&" if "?" in uri else "?"))
        assert "code" in query_of(location)


def test_missing_redirect_uri_with_several_registered_is_refused(live_browser, web_app):
    app, _ = web_app
    _, challenge = pkce_pair()
    response = live_browser.authorize(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "scope": "profile",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    assert_not_redirected(response)


@pytest.fixture
def native_app(make_client):
    return make_client(
        "Native app",
        client_type=Client.Type.PUBLIC,
        redirect_uris=["http://127.0.0.1/callback", "http://[::1]/callback"],
    )


@pytest.mark.parametrize("uri", ["http://127.0.0.1:53682/callback", "http://[::1]:61000/callback"])
def test_loopback_port_change_is_allowed_for_loopback_native_clients(live_browser, native_app, uri):
    app, _ = native_app
    response = authorize_with(live_browser, app.client_id, uri)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(uri + "?")


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:53682/callback/evil",
        "http://127.0.0.1:53682/callback?x=1",
        "http://localhost:53682/callback",
        "http://127.0.0.2:53682/callback",
        "http://user@127.0.0.1:53682/callback",
        "https://127.0.0.1:53682/callback",
        # A port in digits of another script: the port pattern's \\d matched them.
        "http://127.0.0.1:\u0665\u0663\u0666\u0668\u0662/callback",
        "http://127.0.0.1:\uff15\uff13/callback",
    ],
    ids=plain_id,
)
def test_loopback_port_change_allows_nothing_else(live_browser, native_app, uri):
    app, _ = native_app
    assert_not_redirected(authorize_with(live_browser, app.client_id, uri))


def test_loopback_port_change_is_refused_for_confidential_web_clients(live_browser, make_client):
    """RFC 9700 §4.1.3 / RFC 8252 §7.3: the port exception is for native apps only."""
    app, _ = make_client("Dev web app", redirect_uris=["http://127.0.0.1:8000/callback"])
    assert_not_redirected(authorize_with(live_browser, app.client_id, "http://127.0.0.1:9999/callback"))
    response = authorize_with(live_browser, app.client_id, "http://127.0.0.1:8000/callback")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).port == 8000


# A redirect URI that today's policy refuses may still be in the table: written before the policy
# (or by a migration, a restore, a hand-edited row). Every door checks what it stores; the
# authorization endpoint checks again what it is about to redirect to, as the pages do for a
# client's web links (issue 17's matrix found the gap: a 302 to `javascript:` with a code).
STORED_UNSAFE = [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://user:password@app.example.com/callback",
    "http://app.example.com/callback",
]


@pytest.mark.parametrize("stored", STORED_UNSAFE)
def test_a_stored_redirect_uri_the_policy_refuses_is_never_redirected_to(live_browser, make_client, stored):
    app, _ = make_client("Legacy app", redirect_uris=["https://app.example.com/callback"])
    Client.objects.filter(pk=app.pk).update(redirect_uris=stored)
    assert_not_redirected(authorize_with(live_browser, app.client_id, stored))
    # Nor as the default (the only registered URI, no redirect_uri in the request).
    _, challenge = pkce_pair()
    response = live_browser.authorize(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "scope": "profile",
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    assert_not_redirected(response)
    assert not AuthorizationCode.objects.filter(client=app).exists()
