"""OpenID Connect Core 1.0 rules the OpenID Foundation's modules did not mirror yet, found by
driving the server as the conformance suite would (each test names the section it follows):
§3.1.2.6 (an unsupported response_type goes back to the client), §11 (offline_access, which
the Dynamic OP plan's oidcc-refresh-token-rp-key-rotation sends) and §5.5.1.1 (an essential
`acr` with values that cannot be met is a failed authentication)."""

import json
from urllib.parse import urlencode

import pytest

from server.models import AuthorizationCode
from tests.oidc.conftest import ISSUER, REDIRECT_URI, authorize, sign_in_and_get_tokens, verify_id_token
from tests.oidc.test_basic_op import redirect_error
from tests.server.helpers import basic_auth, form

pytestmark = pytest.mark.django_db


# --- §3.1.2.6 (RFC 6749 §4.1.2.1): unsupported_response_type ------------------------------------


@pytest.mark.parametrize("response_type", ["id_token", "code id_token", "token", "id_token token", "bogus"])
def test_core_3_1_2_6_unsupported_response_type_goes_back_to_the_client(browser, rp, response_type):
    """The client and its registered redirect URI are valid: the error is the client's to see,
    with `state` and `iss` (RFC 9207), not a page the person is stuck on. No code is made."""
    client, _ = rp
    response, _ = authorize(browser, client, response_type=response_type)
    assert redirect_error(response) == {
        "error": "unsupported_response_type",
        "error_description": "The response_type is not supported by this server.",
        "state": "st-123",
        "iss": ISSUER,
    }
    assert not AuthorizationCode.objects.exists()


def test_core_3_1_2_6_unsupported_response_type_obeys_the_redirect_uri_rules(browser, make_client):
    """Only a redirect URI the client's rules accept gets the error: a confidential client's
    loopback URI must match exactly (the any-port rule is a native app's), as for every other
    authorization error."""
    client, _ = make_client("Loopback app", scope=["openid"], redirect_uris=["http://127.0.0.1:8000/cb"])
    url = "/oauth/authorize?response_type=token&scope=openid&state=s&client_id=" + client.client_id
    other_port = browser.get(url + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcb")
    assert other_port.status_code == 400 and "Location" not in other_port
    registered = browser.get(url + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2Fcb")
    assert registered.status_code == 302
    assert registered["Location"].startswith("http://127.0.0.1:8000/cb?error=unsupported_response_type")


# --- §11: offline_access ------------------------------------------------------------------------


def test_core_11_offline_access_is_ignored_not_refused(browser, rp, user):
    """oidcc-refresh-token-rp-key-rotation (Dynamic OP) asks for `openid offline_access` with
    prompt=consent. This server offers no offline_access scope: §3.1.2.1 says scope values an
    implementation does not understand SHOULD be ignored, and §11 lets the OP decline offline
    access. The token says what was granted (RFC 6749 §5.1 `scope`); a client registered for the
    refresh_token grant still gets its refresh token and a refreshed ID token (§12.2)."""
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret, scope="openid offline_access", prompt="consent")
    assert tokens["scope"] == "openid"
    first = verify_id_token(tokens["id_token"], client, access_token=tokens["access_token"])
    refreshed = form(
        browser,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert refreshed.status_code == 200, refreshed.content
    again = verify_id_token(refreshed.json()["id_token"], client)
    assert again["sub"] == first["sub"] == str(user.pk) and again["aud"] == first["aud"]


@pytest.mark.parametrize(
    "asked, granted",
    [
        ("openid profile offline_access email", "openid profile email"),
        ("offline_access openid email", "openid email"),
    ],
)
def test_core_11_only_offline_access_is_left_out_of_a_longer_scope(browser, rp, user, asked, granted):
    """The other scopes of the request are granted as asked, in their order, space-separated."""
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret, scope=asked, prompt="consent")
    assert tokens["scope"] == granted


def test_core_11_leaving_offline_access_out_never_mends_a_malformed_scope(browser, rp):
    """Leaving offline_access out rejoins the other scopes with plain spaces: a request whose
    scopes were split by a no-break space must be refused before that, not mended into a valid one."""
    client, _ = rp
    response, _ = authorize(browser, client, scope="openid\u00a0profile offline_access", nonce=None)
    assert redirect_error(response)["error"] == "invalid_scope"


def test_core_11_offline_access_outside_openid_is_still_invalid_scope(browser, rp):
    """Plain OAuth 2.0 keeps its rule: a scope the client may not have is refused, not narrowed."""
    client, _ = rp
    response, _ = authorize(browser, client, scope="profile offline_access", nonce=None)
    assert redirect_error(response)["error"] == "invalid_scope"


# --- §5.5.1.1: an essential acr with values -----------------------------------------------------


@pytest.mark.parametrize(
    "acr",
    [{"essential": True, "values": ["urn:example:loa:3"]}, {"essential": True, "value": "urn:example:loa:3"}],
)
def test_core_5_5_1_1_an_essential_acr_that_cannot_be_met_is_a_failed_authentication(browser, rp, acr):
    """The server defines no authentication context classes, so it can never return an `acr`
    matching the requested ones: "MUST treat that outcome as a failed authentication attempt"
    (unmet_authentication_requirements, OpenID Connect Core Unmet Authentication Requirements
    1.0), redirected with `state` and `iss`; no code."""
    client, _ = rp
    response, _ = authorize(browser, client, claims=json.dumps({"id_token": {"acr": acr}}))
    error = redirect_error(response)
    assert error["error"] == "unmet_authentication_requirements"
    assert error["state"] == "st-123" and error["iss"] == ISSUER
    assert not AuthorizationCode.objects.exists()


@pytest.mark.parametrize(
    "acr", [{"values": ["urn:example:loa:3"]}, {"essential": True}, None, {"essential": False, "value": "x"}]
)
def test_core_5_5_1_1_a_voluntary_acr_request_still_signs_in(browser, rp, acr):
    """Voluntary (or essential without values): nothing to fail; no `acr` is claimed."""
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret, claims=json.dumps({"id_token": {"acr": acr}}))
    assert "acr" not in verify_id_token(tokens["id_token"], client)


# --- response_mode (OAuth 2.0 Multiple Response Type Encoding Practices §2.1) ---------------------


@pytest.mark.parametrize("mode", ["fragment", "form_post", "query.jwt", "bogus"])
def test_a_response_mode_this_server_does_not_offer_is_a_page_not_a_guess(browser, rp, mode):
    """Discovery says response_modes_supported: ["query"]. A client that asked for another mode
    reads its answer elsewhere, so answering in the query (as this server did) reaches nobody;
    the person gets a 400 page that says so (the OpenID errata's answer, issue 977), no code
    is made, and the raw value is not echoed."""
    client, _ = rp
    verifier_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    url = "/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "state": "st-123",
            "code_challenge": verifier_challenge,
            "code_challenge_method": "S256",
            "response_mode": mode,
        }
    )
    response = browser.get(url)
    assert response.status_code == 400
    assert "Location" not in response
    assert b"response_mode" in response.content
    assert mode.encode() not in response.content.replace(b"response_mode", b"")
    assert not AuthorizationCode.objects.exists()


def test_response_mode_query_is_the_default_said_out_loud(browser, rp):
    client, _ = rp
    response, _ = authorize(browser, client, response_mode="query")
    assert "code=" in response["Location"].split("?", 1)[1]
