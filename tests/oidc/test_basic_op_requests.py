"""More of the Basic OP plan's modules, mirrored offline like tests/oidc/test_basic_op.py: the
authorization requests the OpenID Foundation's suite sends with parameters the server accepts
and ignores, misses out, or authenticates differently."""

import pytest
from django.test import Client as HttpClient

from tests.oidc.conftest import (
    ISSUER,
    authorize,
    authorize_params,
    sign_in_and_get_tokens,
    verify_id_token,
)
from tests.server.helpers import REDIRECT_URI, form, pkce_pair, query_of

pytestmark = pytest.mark.django_db

NONCE = "n-0S6_WzA2Mj"


def test_oidcc_response_type_missing(browser, rp):
    """No response_type: invalid_request at the client's registered redirect URI, with state and
    iss, never a code (RFC 6749 §4.1.2.1; the suite takes this redirect or an error page)."""
    client, _ = rp
    _, challenge = pkce_pair()
    params = authorize_params(client, challenge, response_type=None)
    response = browser.get("/oauth/authorize", params)
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    answer = query_of(response["Location"])
    assert answer["error"] == "invalid_request" and "code" not in answer
    assert answer["state"] == params["state"] and answer["iss"] == ISSUER


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"display": "page"}, id="oidcc-display-page"),
        pytest.param({"display": "popup"}, id="oidcc-display-popup"),
        pytest.param({"ui_locales": "se fr-CA en"}, id="oidcc-ui-locales"),
        pytest.param({"claims_locales": "se fr-CA en"}, id="oidcc-claims-locales"),
        pytest.param({"acr_values": "1 2"}, id="oidcc-ensure-request-with-acr-values-succeeds"),
        pytest.param({"extra": "foobar"}, id="oidcc-ensure-request-with-unknown-parameter-succeeds"),
    ],
)
def test_oidcc_accepted_parameters_succeed(browser, rp, user, extra):
    """Parameters the server accepts and ignores (no acr is recorded: the suite's acr-values
    module warns that a SHOULD is not met)."""
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret, **extra)
    claims = verify_id_token(tokens["id_token"], client, access_token=tokens["access_token"], nonce=NONCE)
    assert claims["sub"] == str(user.pk) and "acr" not in claims


def test_oidcc_ensure_request_with_valid_pkce_succeeds(browser, rp):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)  # S256, as every flow here
    assert verify_id_token(tokens["id_token"], client, nonce=NONCE)


def test_oidcc_alternate_happy_flow(browser, rp, user):
    """Another scope order, then a second sign-in with another nonce and state: the same sub."""
    client, secret = rp
    first = sign_in_and_get_tokens(browser, client, secret, scope="email openid profile")
    second = sign_in_and_get_tokens(browser, client, secret, scope="openid email", nonce="other", state="s2")
    assert verify_id_token(first["id_token"], client, nonce=NONCE)["sub"] == str(user.pk)
    assert verify_id_token(second["id_token"], client, nonce="other")["sub"] == str(user.pk)


def test_oidcc_server_client_secret_post(browser, rp):
    client, secret = rp
    response, verifier = authorize(browser, client)
    params = query_of(response["Location"])
    assert params["iss"] == ISSUER
    token = form(
        HttpClient(),
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": client.client_id,
            "client_secret": secret,
        },
    )
    assert token.status_code == 200, token.content
    assert verify_id_token(token.json()["id_token"], client, nonce=NONCE)


@pytest.mark.parametrize("scope", ["profile", "email"], ids=["oidcc-scope-profile", "oidcc-scope-email"])
def test_oidcc_scope_claims(browser, rp, scope):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret, scope="openid " + scope)
    userinfo = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"])
    claims = userinfo.json()
    if scope == "profile":
        assert claims["name"] == "Alice Liddell" and claims["given_name"] == "Alice" and "email" not in claims
    else:
        assert claims["email"] == "alice@example.com" and claims["email_verified"] is False
        assert "name" not in claims
