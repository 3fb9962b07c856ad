"""Standard claims by scope (OIDC Core §5.4; OIDF oidcc-scope-address, -phone, -all) through the
one claims hook, in the ID token and UserInfo alike, and the consent page's words for them."""

from types import SimpleNamespace

import pytest
from django.test import Client as HttpClient

from server.claims import standard_claims
from tests.oidc.conftest import authorize_params, sign_in_and_get_tokens, verify_id_token
from tests.server.helpers import pkce_pair

pytestmark = pytest.mark.django_db

ALL_SCOPES = ["openid", "profile", "email", "address", "phone"]
# What a custom user model would hold (the hook below reads it as such a model's fields).
EXTRA = {
    "address": {
        "street_address": "1 Rabbit Hole",
        "locality": "Oxford",
        "postal_code": "OX1",
        "country": "GB",
    },
    "phone_number": "+44 1865 000000",
    "phone_number_verified": True,
    "email_verified": True,
}


def custom_user_claims(user, scopes, client):
    """A claims hook for a user model with address and phone fields (OAUTH2_OIDC_CLAIMS)."""
    return standard_claims(
        SimpleNamespace(**vars(user), **EXTRA, get_username=user.get_username), scopes, client
    )


@pytest.fixture
def custom_claims(settings):
    settings.OAUTH2_OIDC_CLAIMS = "tests.oidc.test_claims.custom_user_claims"


@pytest.fixture
def all_scopes_rp(make_client):
    return make_client("All scopes", scope=[*ALL_SCOPES, "read"])


def _userinfo(access_token: str) -> dict:
    response = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(
    "scope, present, absent",
    [
        ("address", {"address"}, {"phone_number", "email", "name"}),
        ("phone", {"phone_number", "phone_number_verified"}, {"address", "email", "name"}),
        (
            "profile email address phone",
            {"name", "email", "email_verified", "address", "phone_number", "phone_number_verified"},
            set(),
        ),
    ],
    ids=["oidcc-scope-address", "oidcc-scope-phone", "oidcc-scope-all"],
)
def test_oidcc_scope_claims(browser, all_scopes_rp, custom_claims, scope, present, absent):
    client, secret = all_scopes_rp
    tokens = sign_in_and_get_tokens(browser, client, secret, scope="openid " + scope)
    claims = _userinfo(tokens["access_token"])
    id_token = verify_id_token(tokens["id_token"], client)
    assert present <= set(claims) and not (absent & set(claims)), claims
    assert {name: claims[name] for name in present} == {name: id_token[name] for name in present}
    if "address" in present:
        assert claims["address"] == EXTRA["address"]
    if "phone_number" in present:
        assert (claims["phone_number"], claims["phone_number_verified"]) == ("+44 1865 000000", True)
    if "email" in present:
        assert claims["email_verified"] is True, "the user model said the address is verified"


def test_django_s_own_user_has_no_address_or_phone_so_none_is_claimed(browser, all_scopes_rp):
    client, secret = all_scopes_rp
    tokens = sign_in_and_get_tokens(browser, client, secret, scope="openid email address phone")
    claims = _userinfo(tokens["access_token"])
    assert set(claims) == {"sub", "email", "email_verified"}
    assert claims["email_verified"] is False, "Django does not verify addresses"


@pytest.mark.parametrize(
    "address, claim",
    [
        ("1 Rabbit Hole\nOxford", {"formatted": "1 Rabbit Hole\nOxford"}),
        ({"locality": "Oxford", "planet": "Earth", "region": ""}, {"locality": "Oxford"}),
        ("  ", None),
        (42, None),
    ],
)
def test_the_address_claim_from_a_text_or_a_dict(address, claim):
    user = SimpleNamespace(address=address, get_username=lambda: "u")
    assert standard_claims(user, ["address"], None).get("address") == claim


def test_the_consent_page_names_address_and_phone_in_plain_words(browser, all_scopes_rp):
    client, _secret = all_scopes_rp
    _verifier, challenge = pkce_pair()
    params = authorize_params(client, challenge, scope="openid address phone")
    page = browser.get("/oauth/authorize", params)
    assert page.status_code == 200
    text = page.content.decode()
    assert "See your postal address" in text and "See your phone number" in text


def test_discovery_lists_the_address_and_phone_claims_and_scopes():
    config = HttpClient().get("/.well-known/openid-configuration").json()
    assert {"address", "phone_number", "phone_number_verified", "email_verified"} <= set(
        config["claims_supported"]
    )
    assert {"address", "phone"} <= set(config["scopes_supported"])
