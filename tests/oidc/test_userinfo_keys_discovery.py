"""UserInfo (oidcc-userinfo-get, -post-header, -post-body), signing keys seen by a relying party
(oidcc-server-rotate-keys, ES256 per client) and Config OP's discovery checks."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from server import policies, services
from server.actors import Actor
from server.models import SigningKey
from tests.oidc.conftest import ISSUER, published_keys, sign_in_and_get_tokens, verify_id_token
from tests.server.helpers import basic_auth, form

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(browser, rp):
    client, secret = rp
    return sign_in_and_get_tokens(browser, client, secret)


def _userinfo_ok(response, tokens, rp):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json" and response["Cache-Control"] == "no-store"
    body = response.json()
    # sub equals the ID token's.
    assert body["sub"] == verify_id_token(tokens["id_token"], rp[0])["sub"]
    assert body["email"] == "alice@example.com" and body["name"] == "Alice Liddell"
    return body


def test_oidcc_userinfo_get(tokens, rp):
    response = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"])
    _userinfo_ok(response, tokens, rp)


def test_oidcc_userinfo_post_header(tokens, rp):
    response = HttpClient().post("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"])
    _userinfo_ok(response, tokens, rp)


def test_oidcc_userinfo_post_body(tokens, rp):
    response = form(HttpClient(), "/oauth/userinfo", {"access_token": tokens["access_token"]})
    _userinfo_ok(response, tokens, rp)


def test_userinfo_refusals_are_rfc_6750_challenges(tokens, browser, make_client):
    http = HttpClient()
    bare = http.get("/oauth/userinfo")
    assert bare.status_code == 401 and bare["WWW-Authenticate"].startswith("Bearer realm=")
    assert "error=" not in bare["WWW-Authenticate"]

    bad = http.get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer oat_not-a-token")
    assert bad.status_code == 401 and 'error="invalid_token"' in bad["WWW-Authenticate"]

    in_url = http.get("/oauth/userinfo?access_token=" + tokens["access_token"])
    assert in_url.status_code == 400 and in_url.json()["error"] == "invalid_request"

    twice = form(
        http,
        "/oauth/userinfo",
        {"access_token": tokens["access_token"]},
        HTTP_AUTHORIZATION="Bearer " + tokens["access_token"],
    )
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"

    assert http.put("/oauth/userinfo").status_code == 405

    # A token without openid: insufficient_scope, naming the scope it needs.
    client, secret = make_client("Plain", scope=["profile"])
    plain = sign_in_and_get_tokens(browser, client, secret, scope="profile", nonce=None)
    refused = http.get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer " + plain["access_token"])
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused["WWW-Authenticate"]
    assert 'scope="openid"' in refused["WWW-Authenticate"]


def test_a_client_credentials_token_speaks_for_no_user(make_client):
    client, secret = make_client("Machine", scope=["openid", "read"])
    issued = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "openid"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert issued.status_code == 200 and "id_token" not in issued.json()
    response = HttpClient().get(
        "/oauth/userinfo", HTTP_AUTHORIZATION="Bearer " + issued.json()["access_token"]
    )
    assert response.status_code == 401 and 'error="invalid_token"' in response["WWW-Authenticate"]


def custom_claims(user, scopes, client):
    return {
        "sub": "forged",
        "iss": "https://evil.example",
        "nickname": f"{user.get_username()}!",
        "scopes": scopes,
    }


def test_the_claims_hook_feeds_both_the_id_token_and_userinfo(settings, browser, rp, user):
    settings.OAUTH2_OIDC_CLAIMS = "tests.oidc.test_userinfo_keys_discovery.custom_claims"
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    claims = verify_id_token(tokens["id_token"], client)
    info = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"]).json()
    for body in (claims, info):
        assert body["nickname"] == "alice!" and set(body["scopes"]) == {"openid", "profile", "email"}
        assert body["sub"] == str(user.pk)  # the hook cannot set sub
    assert claims["iss"] == ISSUER  # nor iss


def test_es256_per_client(browser, make_client):
    client, secret = make_client("EC app", scope=["openid"], id_token_signed_response_alg="ES256")
    tokens = sign_in_and_get_tokens(browser, client, secret, scope="openid")
    claims = verify_id_token(tokens["id_token"], client, access_token=tokens["access_token"])
    assert claims["aud"] == client.client_id
    assert {k["alg"] for k in HttpClient().get("/oauth/jwks").json()["keys"]} == {"ES256"}


def test_never_unsigned(make_client):
    for alg in ("none", "HS256", "RS512"):
        with pytest.raises(policies.PolicyError, match="id_token_signed_response_alg"):
            make_client("Unsigned", scope=["openid"], id_token_signed_response_alg=alg)


def test_oidcc_server_rotate_keys(browser, rp):
    client, secret = rp
    before = sign_in_and_get_tokens(browser, client, secret)
    old_kid = jwt.decode(before["id_token"], published_keys()).header["kid"]

    out = StringIO()
    call_command("rotate_signing_keys", "--now", stdout=out)  # publishes a next key
    call_command("rotate_signing_keys", "--now", stdout=out)  # activates it, retires the old one
    assert SigningKey.objects.get(kid=old_kid).state == "retired"

    after = sign_in_and_get_tokens(browser, client, secret)
    new_kid = jwt.decode(after["id_token"], published_keys()).header["kid"]
    assert new_kid != old_kid
    # Signed before the rotation, still verifies: the retired key is still published.
    verify_id_token(before["id_token"], client)
    verify_id_token(after["id_token"], client)

    # Revoked: unpublished, and what it signed no longer verifies.
    services.revoke_signing_key(SigningKey.objects.get(kid=old_kid), actor=Actor.system("tests"))
    with pytest.raises((JoseError, ValueError)):
        jwt.decode(before["id_token"], published_keys())


def test_the_jwks_publishes_no_private_key_material(tokens):
    body = HttpClient().get("/oauth/jwks").json()
    for key in body["keys"]:
        assert {"kid", "use", "alg", "kty"} <= set(key) and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key)
    KeySet.import_key_set(body)


def test_oidcc_discovery_endpoint_verification():
    http = HttpClient()
    response = http.get("/.well-known/openid-configuration")
    assert response.status_code == 200 and "max-age" in response["Cache-Control"]
    config = response.json()
    assert config["issuer"] == ISSUER
    for field, path in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("jwks_uri", "/oauth/jwks"),
    ]:
        assert config[field] == ISSUER + path
    assert "openid" in config["scopes_supported"]
    assert config["response_types_supported"] == ["code"]
    assert config["subject_types_supported"] == ["public", "pairwise"]
    assert config["userinfo_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert "none" not in config["id_token_signing_alg_values_supported"]
    assert {"sub", "iss", "email", "email_verified", "name"} <= set(config["claims_supported"])
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["request_parameter_supported"] is False
    assert config["request_uri_parameter_supported"] is False
    # It agrees with the RFC 8414 document on everything they share.
    oauth = http.get("/.well-known/oauth-authorization-server").json()
    assert {k: config[k] for k in oauth} == oauth
    # The jwks_uri it names answers.
    assert http.get(config["jwks_uri"].removeprefix(ISSUER)).status_code == 200
