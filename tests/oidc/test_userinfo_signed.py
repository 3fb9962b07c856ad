"""Signed UserInfo (OIDC Core §5.3.2; OIDF oidcc-userinfo-rs256): a client registered with
`userinfo_signed_response_alg` gets `application/jwt` signed with the published keys, with `iss`
and `aud`; every other answer stays as it was."""

import pytest
from django.test import Client as HttpClient
from joserfc import jwt

from tests.oidc.conftest import ISSUER, published_keys, sign_in_and_get_tokens, verify_id_token

pytestmark = pytest.mark.django_db

SCOPES = ["openid", "profile", "email", "read"]


def _signed_rp(make_client, alg):
    return make_client(f"Signed UserInfo {alg}", scope=SCOPES, userinfo_signed_response_alg=alg)


@pytest.mark.parametrize("alg", ["RS256", "ES256"], ids=["oidcc-userinfo-rs256", "oidcc-userinfo-es256"])
def test_oidcc_userinfo_signed(browser, make_client, alg):
    client, secret = _signed_rp(make_client, alg)
    tokens = sign_in_and_get_tokens(browser, client, secret)
    sub = verify_id_token(tokens["id_token"], client)["sub"]
    response = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwt"
    assert response["Cache-Control"] == "no-store"
    token = jwt.decode(response.content.decode(), published_keys(), algorithms=[alg])
    assert token.header["alg"] == alg and token.header["kid"]
    claims = token.claims
    assert (claims["iss"], claims["aud"], claims["sub"]) == (ISSUER, client.client_id, sub)
    assert claims["email"] == "alice@example.com" and claims["name"] == "Alice Liddell"


def test_signed_userinfo_by_post_body_and_for_a_pairwise_client(browser, make_client):
    client, secret = make_client(
        "Signed pairwise", scope=SCOPES, userinfo_signed_response_alg="RS256", subject_type="pairwise"
    )
    tokens = sign_in_and_get_tokens(browser, client, secret)
    sub = verify_id_token(tokens["id_token"], client)["sub"]
    response = HttpClient().post("/oauth/userinfo", {"access_token": tokens["access_token"]})
    assert response.status_code == 200 and response["Content-Type"] == "application/jwt"
    assert jwt.decode(response.content.decode(), published_keys(), algorithms=["RS256"]).claims["sub"] == sub


def test_a_client_without_the_setting_gets_plain_json(browser, rp):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    response = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response["Content-Type"] == "application/json" and "iss" not in response.json()


def test_refusals_stay_json_challenges_for_a_signing_client(browser, make_client):
    client, secret = _signed_rp(make_client, "RS256")
    tokens = sign_in_and_get_tokens(browser, client, secret, scope="profile")  # no openid
    refused = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert refused.status_code == 403 and refused["Content-Type"] == "application/json"
    assert 'error="insufficient_scope"' in refused["WWW-Authenticate"]
    bad = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer oat_not-a-token")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"
