"""The OpenID Foundation's Basic OP test plan, mirrored offline: each test is named after the
conformance-suite module it follows (oidcc-server -> test_oidcc_server) and drives the server
over HTTP as that module's relying party does. ID tokens are checked by tests/oidc/conftest.py
(signature against the published JWKS, iss, aud, exp, iat, nonce, at_hash) with joserfc, not
with the server's code."""

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client as HttpClient

from server.models import Consent, Token
from server.oauth2.id_tokens import AUTH_TIME_SESSION_KEY
from tests.oidc.conftest import (
    ISSUER,
    authorize,
    authorize_params,
    sign_in_and_get_tokens,
    token_request,
    verify_id_token,
)
from tests.server.helpers import REDIRECT_URI, basic_auth, form, pkce_pair, query_of

pytestmark = pytest.mark.django_db

NONCE = "n-0S6_WzA2Mj"


def redirect_error(response) -> dict:
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI)
    return query_of(response["Location"])


def test_oidcc_server(browser, rp, user):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    assert tokens["token_type"] == "Bearer" and set(tokens["scope"].split()) == {"openid", "profile", "email"}
    claims = verify_id_token(tokens["id_token"], client, access_token=tokens["access_token"], nonce=NONCE)
    assert claims["sub"] == str(user.pk)
    assert isinstance(claims["auth_time"], int) and claims["auth_time"] <= claims["iat"]
    assert claims["exp"] - claims["iat"] == 3600
    # The access token is not an ID token, and the ID token is not stored.
    assert not Token.objects.filter(access_token_prefix=tokens["id_token"][:12]).exists()


def test_oidcc_response_type_missing_and_plain_oauth_keep_working(browser, make_client):
    # A request without openid is plain OAuth 2.0: no ID token.
    client, secret = make_client("Plain app", scope=["profile"])
    tokens = sign_in_and_get_tokens(browser, client, secret, scope="profile", nonce=None)
    assert "id_token" not in tokens


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(browser, rp):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret, nonce=None)
    assert "nonce" not in verify_id_token(tokens["id_token"], client)


def test_the_nonce_is_echoed_exactly(browser, rp):
    client, secret = rp
    odd = "ÿ nonce+with/odd=chars&é"
    tokens = sign_in_and_get_tokens(browser, client, secret, nonce=odd)
    assert verify_id_token(tokens["id_token"], client, nonce=odd)["nonce"] == odd


def test_oidcc_codereuse(browser, rp):
    client, secret = rp
    response, verifier = authorize(browser, client)
    code = query_of(response["Location"])["code"]
    first = token_request(client, secret, code, verifier)
    assert first.status_code == 200
    again = token_request(client, secret, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # The tokens the code issued are revoked (RFC 6749 §4.1.2).
    userinfo = HttpClient().get(
        "/oauth/userinfo", HTTP_AUTHORIZATION="Bearer " + first.json()["access_token"]
    )
    assert userinfo.status_code == 401


def test_oidcc_prompt_none_not_logged(rp):
    client, _ = rp
    response, _ = authorize(HttpClient(), client, prompt="none")
    error = redirect_error(response)
    assert error == {"error": "login_required", "state": "st-123", "iss": ISSUER}


def test_oidcc_prompt_none_logged(browser, rp, user):
    client, secret = rp
    # No consent yet: the page cannot be shown.
    response, _ = authorize(browser, client, prompt="none")
    assert redirect_error(response)["error"] == "consent_required"
    assert redirect_error(response)["state"] == "st-123"
    sign_in_and_get_tokens(browser, client, secret)  # consents
    response, verifier = authorize(browser, client, prompt="none")
    params = query_of(response["Location"])
    assert "code" in params and params["iss"] == ISSUER
    tokens = token_request(client, secret, params["code"], verifier).json()
    assert verify_id_token(tokens["id_token"], client)["sub"] == str(user.pk)


def test_prompt_none_with_another_value_is_invalid(browser, rp):
    client, _ = rp
    response, _ = authorize(browser, client, prompt="none login")
    assert redirect_error(response)["error"] == "invalid_request"


def test_oidcc_prompt_login(browser, rp, user):
    client, secret = rp
    sign_in_and_get_tokens(browser, client, secret)
    session = browser.session
    session[AUTH_TIME_SESSION_KEY] = int(time.time()) - 600
    session.save()
    response = browser.get("/oauth/authorize?" + _query(client, prompt="login", scope="openid"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    assert "prompt" not in parse_qs(urlsplit(next_url).query)  # satisfied by this sign-in
    # The person signs in again; the sign-in time is new, and the request goes on.
    signed_in = browser.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password-123", "next": next_url}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == next_url
    assert browser.session[AUTH_TIME_SESSION_KEY] >= int(time.time()) - 5


def test_oidcc_max_age_1(browser, rp):
    client, secret = rp
    sign_in_and_get_tokens(browser, client, secret)
    session = browser.session
    signed_in_at = int(time.time()) - 30
    session[AUTH_TIME_SESSION_KEY] = signed_in_at
    session.save()
    # Older than max_age: sign in again (or, silently, login_required).
    response, _ = authorize(browser, client, prompt="none", max_age="1")
    assert redirect_error(response)["error"] == "login_required"
    response = browser.get("/oauth/authorize?" + _query(client, max_age="1"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    assert "max_age" not in parse_qs(urlsplit(next_url).query)
    browser.post("/accounts/login/", {"username": "alice", "password": "alice-password-123"})
    tokens = sign_in_and_get_tokens(browser, client, secret, max_age="1")
    claims = verify_id_token(tokens["id_token"], client)
    assert claims["auth_time"] > signed_in_at


def test_oidcc_max_age_10000(browser, rp):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret, max_age="10000")
    assert "auth_time" in verify_id_token(tokens["id_token"], client)


def test_max_age_without_a_known_sign_in_time_asks_to_sign_in(browser, rp):
    client, _ = rp
    session = browser.session
    del session[AUTH_TIME_SESSION_KEY]
    session.save()
    response = browser.get("/oauth/authorize?" + _query(client, max_age="600"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_malformed_max_age_is_invalid_request(browser, rp):
    client, _ = rp
    response, _ = authorize(browser, client, max_age="-1")
    assert redirect_error(response)["error"] == "invalid_request"


def test_oidcc_ensure_redirect_uri_in_authorization_request(browser, rp):
    client, _ = rp
    assert client.get_default_redirect_uri() == REDIRECT_URI  # one registered: OAuth would use it
    response = browser.get("/oauth/authorize?" + _query(client, redirect_uri=None))
    # Shown to the person, not redirected anywhere.
    assert response.status_code == 400 and "redirect_uri" in response.content.decode()
    assert "Location" not in response


def test_oidcc_ensure_post_request_succeeds(rp, user):
    """OIDC Core §3.1.2.1: the request as a form POST from the client's site (no CSRF token of
    ours) is sent on to the GET flow (303), consent page and its CSRF check included."""
    client, secret = rp
    strict = HttpClient(enforce_csrf_checks=True)
    strict.force_login(user)
    verifier, challenge = pkce_pair()
    # A broken client also posts its secret: it is not copied into the URL.
    posted = strict.post("/oauth/authorize", {**authorize_params(client, challenge), "client_secret": secret})
    assert posted.status_code == 303 and posted["Location"].startswith("/oauth/authorize?")
    assert query_of(posted["Location"]) == authorize_params(client, challenge)
    page = strict.get(posted["Location"])
    assert page.status_code == 200 and 'name="confirm"' in page.content.decode()
    decided = strict.post(
        posted["Location"], {"confirm": "yes", "csrfmiddlewaretoken": strict.cookies["csrftoken"].value}
    )
    params = query_of(decided["Location"])
    assert params["state"] == "st-123" and params["iss"] == ISSUER
    tokens = token_request(client, secret, params["code"], verifier).json()
    assert verify_id_token(tokens["id_token"], client, nonce=NONCE)["sub"] == str(user.pk)


@pytest.mark.parametrize(
    "body",
    [
        {"confirm": "yes", "client_id": "x", "response_type": "code"},  # a forged decision
        {"deny": "yes"},
        {},
    ],
)
def test_a_post_that_is_not_an_authorization_request_meets_the_csrf_check(rp, user, body):
    client, _ = rp
    strict = HttpClient(enforce_csrf_checks=True)
    strict.force_login(user)
    if "client_id" in body:
        body["client_id"] = client.client_id
    response = strict.post("/oauth/authorize", body)
    assert response.status_code == 403 and "Location" not in response
    json_body = strict.post("/oauth/authorize", "{}", content_type="application/json")
    assert json_body.status_code == 403


def test_oidcc_ensure_registered_redirect_uri(browser, rp):
    client, _ = rp
    response = browser.get("/oauth/authorize?" + _query(client, redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400 and "Location" not in response


@pytest.mark.parametrize(
    ("parameter", "error"),
    [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")],
)
def test_oidcc_unsupported_request_objects_are_refused(browser, rp, parameter, error):
    client, _ = rp
    response, _ = authorize(browser, client, **{parameter: "eyJhbGciOiJub25lIn0.e30."})
    params = redirect_error(response)
    assert (params["error"], params["state"], params["iss"]) == (error, "st-123", ISSUER)


def test_oidcc_id_token_hint(browser, rp, user, django_user_model):
    client, secret = rp
    first = sign_in_and_get_tokens(browser, client, secret)
    response, _ = authorize(browser, client, prompt="none", id_token_hint=first["id_token"])
    assert "code" in query_of(response["Location"])
    # A hint naming someone else: not silently.
    other = django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")
    other_browser = HttpClient()
    other_browser.force_login(other)
    Consent.objects.create(user=other, client=client, scope="openid profile email")
    response, _ = authorize(other_browser, client, prompt="none", id_token_hint=first["id_token"])
    assert redirect_error(response)["error"] == "login_required"
    # Not one of ours: refused, back to the client.
    response, _ = authorize(browser, client, id_token_hint=first["id_token"][:-4] + "AAAA")
    assert redirect_error(response)["error"] == "invalid_request"


def test_login_hint_prefills_the_sign_in_form(rp):
    client, _ = rp
    anonymous = HttpClient()
    response = anonymous.get("/oauth/authorize?" + _query(client, login_hint="alice@example.com"))
    assert response.status_code == 302
    page = anonymous.get(response["Location"])
    assert page.status_code == 200
    assert 'value="alice@example.com"' in page.content.decode()


def test_login_hint_is_escaped(rp):
    client, _ = rp
    anonymous = HttpClient()
    response = anonymous.get("/oauth/authorize?" + _query(client, login_hint='"><script>x</script>'))
    page = anonymous.get(response["Location"]).content.decode()
    assert "<script>x</script>" not in page and "&quot;&gt;&lt;script&gt;" in page


def test_oidcc_refresh_token(browser, rp, user):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    original = verify_id_token(tokens["id_token"], client)
    refreshed = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert refreshed.status_code == 200, refreshed.content
    body = refreshed.json()
    claims = verify_id_token(body["id_token"], client, access_token=body["access_token"])
    assert claims["sub"] == original["sub"] == str(user.pk)
    assert claims["auth_time"] == original["auth_time"]
    assert "nonce" not in claims


def test_a_refresh_narrowed_to_exclude_openid_has_no_id_token(browser, rp):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    refreshed = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": "profile"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert refreshed.status_code == 200 and "id_token" not in refreshed.json()


def test_the_consent_page_names_openid_in_plain_words(browser, rp):
    client, _ = rp
    page = browser.get("/oauth/authorize?" + _query(client))
    assert page.status_code == 200
    assert "Sign you in to the app with your account" in page.content.decode()


def test_what_was_consented_is_what_the_token_gets_with_openid(browser, rp, user):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret, scope="openid email")
    assert set(tokens["scope"].split()) == {"openid", "email"}
    assert set(Consent.objects.get(user=user, client=client).scope.split()) == {"openid", "email"}
    claims = verify_id_token(tokens["id_token"], client)
    assert "email" in claims and "name" not in claims  # profile was not granted


def test_openid_is_invalid_scope_for_a_client_not_allowed_it(browser, make_client):
    client, _ = make_client("OAuth only", scope=["profile"])
    response, _ = authorize(browser, client, scope="openid profile")
    assert redirect_error(response)["error"] == "invalid_scope"


def _query(client, **extra) -> str:
    return urlencode(authorize_params(client, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", **extra))


def test_an_id_token_hint_of_someone_else_is_never_answered_after_signing_in(rp, user, django_user_model):
    """OIDC Core §3.1.2.1 (id_token_hint): when the person it names is not signed in, nor signed in
    by the request, the answer is an error. The hint was dropped from the request that goes on
    after the sign-in page, so signing in as anyone at all got a code for them: an RP stepping
    up alice's session got bob's ID token. Now, still another person after signing in for this
    very request: login_required, no code; the person the hint names signs in: a code for them."""
    client, secret = rp
    alice = HttpClient()
    alice.force_login(user)
    hint = sign_in_and_get_tokens(alice, client, secret)["id_token"]
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")
    Consent.objects.create(user=bob, client=client, scope="openid profile email")

    for signed_in_first in (False, True):
        browser = HttpClient()
        if signed_in_first:
            browser.force_login(bob)
        response = browser.get("/oauth/authorize?" + _query(client, id_token_hint=hint, state="s-7"))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
        signed_in = browser.post(
            "/accounts/login/", {"username": "bob", "password": "bob-password-123", "next": next_url}
        )
        answer = browser.get(signed_in["Location"])
        assert answer.status_code == 302, answer.content[:300]
        assert redirect_error(answer)["error"] == "login_required", signed_in_first
        assert redirect_error(answer)["state"] == "s-7"

    # Alice herself signs in: answered.
    browser = HttpClient()
    response = browser.get("/oauth/authorize?" + _query(client, id_token_hint=hint))
    next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    signed_in = browser.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password-123", "next": next_url}
    )
    answer = browser.get(signed_in["Location"])
    assert answer.status_code == 302 and "code" in query_of(answer["Location"])
