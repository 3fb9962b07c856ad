"""Claims requested one by one through the `claims` parameter (OIDC Core §5.5) that no requested
scope covers: the consent page lists them in plain words (essential ones marked), the person's
Allow approves them, they are kept with the code, the token and the remembered consent, and the
ID token and UserInfo deliver exactly those, where they were requested; a remembered consent
without them shows the page again (prompt=none: consent_required)."""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient

from server.models import AuthorizationCode, Consent, Token
from server.oauth2.claims_request import consentable_claims, granted_claims
from tests.oidc.conftest import authorize_params, token_request, verify_id_token
from tests.oidc.test_basic_op import redirect_error
from tests.server.helpers import basic_auth, form, pkce_pair, query_of

pytestmark = pytest.mark.django_db

EMAIL_BOTH = {"userinfo": {"email": {"essential": True}}, "id_token": {"email": None}}


def _url(client, challenge: str, **extra) -> str:
    params = authorize_params(client, challenge, **{"scope": "openid", **extra})
    return "/oauth/authorize?" + urlencode(params)


def _userinfo(access_token: str) -> dict:
    response = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert response.status_code == 200, response.content
    return response.json()


def _tokens(client, secret, response, verifier) -> dict:
    params = query_of(response["Location"])
    assert "code" in params, params
    answer = token_request(client, secret, params["code"], verifier)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_an_email_claim_with_openid_alone_is_asked_about_approved_and_delivered(browser, rp, user):
    client, secret = rp
    verifier, challenge = pkce_pair()
    url = _url(client, challenge, claims=json.dumps(EMAIL_BOTH))

    page = browser.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="requested-claims"' in text and "Your email address" in text
    assert "the app says it needs this" in text, "essential in the request: marked"
    assert "email_verified" not in text, "only what was asked for"

    # Deny: the error goes back to the client, nothing is remembered or issued.
    denied = browser.post(url, {"deny": "yes"})
    assert redirect_error(denied)["error"] == "access_denied"
    assert not Consent.objects.exists() and not AuthorizationCode.objects.exists()

    # Allow: the code, the token and the consent keep the approved claim.
    allowed = browser.post(url, {"confirm": "yes"})
    tokens = _tokens(client, secret, allowed, verifier)
    assert tokens["scope"] == "openid"
    assert AuthorizationCode.objects.get().consented_claims == "email"
    assert Consent.objects.get().claims == "email"
    assert Token.objects.get().claims == {"id_token": ["email"], "userinfo": ["email"]}
    id_token = verify_id_token(tokens["id_token"], client, access_token=tokens["access_token"])
    assert id_token["email"] == "alice@example.com"
    assert "email_verified" not in id_token and "name" not in id_token, "exactly what was approved"
    info = _userinfo(tokens["access_token"])
    assert info == {"sub": str(user.pk), "email": "alice@example.com"}

    # Remembered: the same request goes straight back to the client.
    again_verifier, again_challenge = pkce_pair()
    again = browser.get(_url(client, again_challenge, claims=json.dumps(EMAIL_BOTH)))
    assert again.status_code == 302 and "code" in query_of(again["Location"])
    assert _userinfo(_tokens(client, secret, again, again_verifier)["access_token"])["email"]
    # The person sees what they approved under their authorized apps.
    apps = browser.get("/account/apps/").content.decode()
    assert "See your email address" in apps and '<code class="small">email</code>' in apps


def test_a_remembered_consent_without_the_claims_does_not_cover_a_request_for_them(browser, rp):
    client, _secret = rp
    _verifier, challenge = pkce_pair()
    first = browser.post(_url(client, challenge), {"confirm": "yes"})
    assert first.status_code == 302 and Consent.objects.get().claims == ""
    # The remembered consent covers openid alone...
    _verifier, challenge = pkce_pair()
    assert browser.get(_url(client, challenge)).status_code == 302
    # ...not a request that also names a claim: the page again, or consent_required when silent.
    _verifier, challenge = pkce_pair()
    page = browser.get(_url(client, challenge, claims=json.dumps(EMAIL_BOTH)))
    assert page.status_code == 200 and "Your email address" in page.content.decode()
    _verifier, challenge = pkce_pair()
    silent = browser.get(_url(client, challenge, claims=json.dumps(EMAIL_BOTH), prompt="none"))
    assert redirect_error(silent)["error"] == "consent_required"
    # Approved once, the next request with more claims asks again (for all it asks, in plain words).
    browser.post(_url(client, challenge, claims=json.dumps(EMAIL_BOTH)), {"confirm": "yes"})
    assert set(Consent.objects.get().claims.split()) == {"email"}
    more = {"userinfo": {"email": None, "name": {"essential": True}}}
    _verifier, challenge = pkce_pair()
    page = browser.get(_url(client, challenge, claims=json.dumps(more)))
    assert page.status_code == 200 and "Your full name" in page.content.decode()
    browser.post(_url(client, challenge, claims=json.dumps(more)), {"confirm": "yes"})
    assert set(Consent.objects.get().claims.split()) == {"email", "name"}


def test_a_claim_is_delivered_only_where_it_was_requested(browser, rp, user):
    client, secret = rp
    verifier, challenge = pkce_pair()
    request = {"id_token": {"email": None}, "userinfo": {"name": None}}
    url = _url(client, challenge, claims=json.dumps(request))
    tokens = _tokens(client, secret, browser.post(url, {"confirm": "yes"}), verifier)
    id_token = verify_id_token(tokens["id_token"], client)
    assert id_token["email"] == "alice@example.com" and "name" not in id_token
    assert _userinfo(tokens["access_token"]) == {"sub": str(user.pk), "name": "Alice Liddell"}
    # A refresh keeps exactly that: the new ID token and the new access token's UserInfo.
    refreshed = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    ).json()
    again = verify_id_token(refreshed["id_token"], client)
    assert again["email"] == "alice@example.com" and "name" not in again
    assert _userinfo(refreshed["access_token"]) == {"sub": str(user.pk), "name": "Alice Liddell"}


def test_claims_the_page_does_not_ask_about_are_never_delivered(browser, make_client, user):
    """Not asked about: a claim whose scope the client may not have (phone), a standard claim
    the server does not deliver (picture: not in discovery's claims_supported), protocol claims
    (sub, auth_time), unknown claims. The page then shows the scopes alone."""
    client, secret = make_client("No phone", scope=["openid", "profile", "email"])
    verifier, challenge = pkce_pair()
    request = {
        "userinfo": {"phone_number": {"essential": True}, "favourite_colour": None, "sub": None},
        "id_token": {"picture": {"essential": True}, "auth_time": None},
    }
    url = _url(client, challenge, claims=json.dumps(request))
    page = browser.get(url)
    assert page.status_code == 200 and 'id="requested-claims"' not in page.content.decode()
    tokens = _tokens(client, secret, browser.post(url, {"confirm": "yes"}), verifier)
    assert _userinfo(tokens["access_token"]) == {"sub": str(user.pk)}
    assert Token.objects.get().claims is None and Consent.objects.get().claims == ""


def test_a_claim_a_requested_scope_covers_is_not_asked_about_again(browser, rp):
    client, _secret = rp
    _verifier, challenge = pkce_pair()
    page = browser.get(_url(client, challenge, scope="openid email", claims=json.dumps(EMAIL_BOTH)))
    assert page.status_code == 200 and 'id="requested-claims"' not in page.content.decode()


def test_consentable_and_granted_claims():
    request = {"userinfo": {"email": None, "name": None, "x": None}, "id_token": {"email": None, "acr": None}}
    assert consentable_claims(request, "openid profile", ["openid", "profile", "email"]) == ["email"]
    assert consentable_claims(request, "openid", ["openid", "email"]) == ["email"]
    assert consentable_claims(request, "openid", ["openid", "profile", "email"]) == ["email", "name"]
    assert consentable_claims(None, "openid", ["email"]) == []
    assert granted_claims(request, ["email"]) == {"userinfo": ["email"], "id_token": ["email"]}
    assert granted_claims(request, ["name"]) == {"userinfo": ["name"]}
    assert granted_claims(request, []) == {}


def test_openid_never_comes_from_the_default_scopes(browser, rp, settings):
    """A request naming no scope is no OpenID Connect request, whatever OAUTH2_DEFAULT_SCOPES says
    (policies.default_scope; it was one, past the checks that read the scope as sent, and this
    test checked that its claims parameter was still refused). With only `openid` configured there
    is no default: invalid_scope back to the client, no code, never a 500."""
    settings.OAUTH2_DEFAULT_SCOPES = ("openid",)
    client, _secret = rp
    _verifier, challenge = pkce_pair()
    url = "/oauth/authorize?" + urlencode(authorize_params(client, challenge, scope=None, claims="{not json"))
    assert redirect_error(browser.get(url))["error"] == "invalid_scope"
    assert redirect_error(browser.post(url, {"confirm": "yes"}))["error"] == "invalid_scope"
    assert not AuthorizationCode.objects.exists()


def test_discovery_advertises_the_claims_parameter_and_the_claims_it_asks_about(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert document["claims_parameter_supported"] is True
    assert {"name", "email", "phone_number", "address"} <= set(document["claims_supported"])
    assert "picture" not in document["claims_supported"]
