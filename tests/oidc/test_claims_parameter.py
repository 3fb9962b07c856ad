"""The `claims` request parameter (OIDC Core §5.5; OIDF oidcc-claims-essential) and acr/amr
(oidcc-ensure-request-with-acr-values-succeeds): checked at the authorization endpoint, stored
with the code, delivered within the approved scopes and the claims approved one by one
(tests/oidc/test_claims_consent.py)."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client as HttpClient

from server.models import AuthorizationCode, Consent
from server.oauth2.claims_request import parse_claims_request
from server.oauth2.errors import InvalidRequestError
from tests.oidc.conftest import ISSUER, authorize, sign_in_and_get_tokens, verify_id_token
from tests.oidc.test_basic_op import redirect_error
from tests.server.helpers import basic_auth, form, query_of

pytestmark = pytest.mark.django_db

ESSENTIAL = {
    "userinfo": {"email": {"essential": True}, "name": None},
    "id_token": {"auth_time": {"essential": True}},
}


def _userinfo(access_token: str) -> dict:
    response = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert response.status_code == 200, response.content
    return response.json()


def test_oidcc_claims_essential(browser, rp, user):
    """As the real suite's module asks: `name`, essential, for UserInfo, with scope=openid alone.
    The consent page asks about it; once allowed, UserInfo delivers it (and the ID token does
    not: it was requested for UserInfo)."""
    client, secret = rp
    request = {"userinfo": {"name": {"essential": True}}}
    tokens = sign_in_and_get_tokens(browser, client, secret, scope="openid", claims=json.dumps(request))
    assert _userinfo(tokens["access_token"]) == {"sub": str(user.pk), "name": "Alice Liddell"}
    assert "name" not in verify_id_token(tokens["id_token"], client)
    assert AuthorizationCode.objects.get().consented_claims == "name"


def test_claims_a_scope_covers_are_delivered_as_the_scope_says(browser, rp):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret, claims=json.dumps(ESSENTIAL))
    claims = _userinfo(tokens["access_token"])
    assert claims["email"] == "alice@example.com" and claims["name"] == "Alice Liddell"
    id_token = verify_id_token(tokens["id_token"], client)
    assert isinstance(id_token["auth_time"], int)
    stored = AuthorizationCode.objects.get()
    assert stored.claims == ESSENTIAL, "kept with the code as parsed"
    assert stored.consented_claims == "", "the scopes cover them: nothing asked one by one"


def test_a_claim_the_person_was_not_asked_about_is_not_delivered_even_if_essential(browser, make_client):
    """The client may not have the phone scope: phone_number is not on the consent page, and
    not delivered (OIDC Core §5.5.1 lets the provider decline an essential claim)."""
    client, secret = make_client("Relying party", scope=["openid", "profile", "email"])
    request = {"userinfo": {"phone_number": {"essential": True}}, "id_token": {"phone_number": None}}
    tokens = sign_in_and_get_tokens(
        browser, client, secret, scope="openid profile", claims=json.dumps(request)
    )
    assert "phone_number" not in _userinfo(tokens["access_token"])
    assert "phone_number" not in verify_id_token(tokens["id_token"], client)


@pytest.mark.parametrize(
    "claims, says",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"userinfo": ["email"]}', "must be an object of claim names"),
        ('{"userinfo": {"email": true}}', "neither null nor an object"),
        ('{"userinfo": {"email": {"essential": "yes"}}}', "not true or false"),
        ('{"id_token": {"acr": {"values": []}}}', "1 to 20"),
        ('{"id_token": {"acr": {"values": [{"a": 1}]}}}', "strings, numbers or booleans"),
        ('{"id_token": {"sub": {"value": {"a": 1}}}}', "string, number or boolean"),
        ('{"userinfo": {"": null}}', "empty"),
        ('{"userinfo": {' + ", ".join(f'"c{i}": null' for i in range(51)) + "}}", "more than 50"),
    ],
)
def test_an_invalid_claims_parameter_is_invalid_request_back_to_the_client(browser, rp, claims, says):
    client, _secret = rp
    response, _ = authorize(browser, client, claims=claims)
    error = redirect_error(response)
    assert (error["error"], error["state"], error["iss"]) == ("invalid_request", "st-123", ISSUER)
    assert says in error["error_description"]
    assert not AuthorizationCode.objects.exists()


def test_an_over_long_claims_parameter_is_refused(browser, rp):
    client, _secret = rp
    response, _ = authorize(browser, client, claims=json.dumps({"userinfo": {"name": None}}) + " " * 5000)
    assert redirect_error(response)["error"] == "invalid_request"


def test_members_other_than_userinfo_and_id_token_and_unknown_claims_are_ignored():
    parsed = parse_claims_request(
        '{"userinfo": {"favourite_colour": {"essential": true, "x": 1}}, "other": 1}'
    )
    assert parsed == {"userinfo": {"favourite_colour": {"essential": True}}}
    assert parse_claims_request(None) is None and parse_claims_request('{"id_token": null}') == {}
    with pytest.raises(InvalidRequestError):
        parse_claims_request('"text"')


def test_a_requested_sub_of_someone_else_is_never_answered(browser, rp, django_user_model):
    client, secret = rp
    sign_in_and_get_tokens(browser, client, secret)  # consents
    other = django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")
    someone_else = json.dumps({"id_token": {"sub": {"value": str(other.pk)}}})
    # Silently: login_required, back to the client.
    response, _ = authorize(browser, client, prompt="none", claims=someone_else)
    assert redirect_error(response)["error"] == "login_required"
    # Otherwise: sign in again; still alice after that: login_required, no code.
    response = browser.get(
        "/oauth/authorize",
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": "https://app.example.com/callback",
            "scope": "openid",
            "state": "s1",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "claims": someone_else,
        },
    )
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    signed_in = browser.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password-123", "next": next_url}
    )
    again = browser.get(signed_in["Location"])
    assert redirect_error(again) | {"error_description": ""} == {
        "error": "login_required",
        "error_description": "",
        "state": "s1",
        "iss": ISSUER,
    }
    # Bob, signed in, named by the claims parameter: answered.
    bob = HttpClient()
    bob.force_login(other)
    Consent.objects.create(user=other, client=client, scope="openid profile email")
    response, _ = authorize(bob, client, prompt="none", claims=someone_else)
    assert "code" in query_of(response["Location"])


def test_oidcc_ensure_request_with_acr_values_succeeds_with_amr_pwd_and_no_acr(rp, user):
    client, secret = rp
    browser = HttpClient()
    signed_in = browser.post("/accounts/login/", {"username": "alice", "password": "alice-password-123"})
    assert signed_in.status_code == 302
    tokens = sign_in_and_get_tokens(browser, client, secret, acr_values="urn:mace:incommon:iap:silver")
    claims = verify_id_token(tokens["id_token"], client)
    assert claims["amr"] == ["pwd"] and "acr" not in claims
    refreshed = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    ).json()
    assert verify_id_token(refreshed["id_token"], client)["amr"] == ["pwd"], "the family's sign-in"


def test_no_amr_when_the_sign_in_method_is_unknown(browser, rp):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)  # force_login: no password seen
    assert "amr" not in verify_id_token(tokens["id_token"], client)


def test_discovery_says_the_claims_parameter_is_supported():
    config = HttpClient().get("/.well-known/openid-configuration").json()
    assert config["claims_parameter_supported"] is True
    assert "amr" in config["claims_supported"]
