"""The authorization-code flow of the spec's example app: consent, PKCE, token, refresh."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.oauth2.exampleapp.models import AuthorizationCode, Token
from tests.oauth2.flow import (
    CLIENT_ID,
    REDIRECT_URI,
    authorize_params,
    basic,
    exchange,
    get_code,
    pkce_pair,
    query_of,
    url_with,
)

pytestmark = pytest.mark.urls("tests.oauth2.exampleapp.urls")


def test_consent_page_shows_the_client_and_scope(web, oauth_client):
    _verifier, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    response = web.get(url_with("/authorize/", params))
    assert response.status_code == 200
    assert b"Example app" in response.content
    assert b"profile read" in response.content
    assert AuthorizationCode.objects.count() == 0


def test_anonymous_user_is_sent_to_sign_in(api, oauth_client):
    response = api.get(url_with("/authorize/", authorize_params()))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_full_code_flow_issues_a_token_that_opens_the_api(web, api, oauth_client, user):
    code, verifier = get_code(web)
    stored = AuthorizationCode.objects.get()
    assert stored.code == code and stored.user == user and stored.client == oauth_client
    assert stored.code_challenge_method == "S256"

    response = exchange(api, code, verifier)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "profile read"
    assert body["expires_in"] == 3600  # not authlib's 10-day default for this grant
    assert body["refresh_token"]
    token = Token.objects.get()
    assert token.access_token == body["access_token"] and token.user == user
    assert token.expires_in == 3600
    assert AuthorizationCode.objects.count() == 0  # single use: redeemed codes are gone

    me = api.get("/api/user/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200
    assert me.json()["username"] == "bob"


def test_redirect_carries_state_and_iss(web, oauth_client):
    _verifier, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    response = web.post(url_with("/authorize/", params), {"confirm": "yes"})
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    query = query_of(response["Location"])
    assert query["state"] == "xyz-state"
    assert query["iss"] == "http://testserver"


def test_iss_comes_from_the_setting_when_set(web, oauth_client, settings):
    settings.OAUTH2_ISSUER = "https://login.example.org"
    code_location = web.post(url_with("/authorize/", authorize_params()), {})["Location"]
    assert query_of(code_location)["iss"] == "https://login.example.org"


def test_deny_redirects_access_denied_with_iss_and_stores_nothing(web, oauth_client):
    _verifier, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    response = web.post(url_with("/authorize/", params), {})
    assert response.status_code == 302
    query = query_of(response["Location"])
    assert query["error"] == "access_denied"
    assert query["state"] == "xyz-state"
    assert query["iss"] == "http://testserver"
    assert AuthorizationCode.objects.count() == 0


def test_code_is_single_use(web, api, oauth_client):
    code, verifier = get_code(web)
    assert exchange(api, code, verifier).status_code == 200
    again = exchange(api, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 1


def freeze(time_machine):
    """Stop the clock at the current instant; returns that instant."""
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    return now


def test_expired_code_is_invalid_grant(web, api, oauth_client, time_machine):
    # Lifetimes are checked against a frozen clock (time-machine), not against a busy machine's.
    frozen = freeze(time_machine)
    code, verifier = get_code(web)
    stored = AuthorizationCode.objects.get()
    # Default lifetime is 60 s (OAUTH2_AUTHORIZATION_CODE_LIFETIME).
    assert stored.expires_at == frozen + timedelta(seconds=60)
    time_machine.shift(61)
    response = exchange(api, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 0


def test_code_lifetime_follows_the_setting(web, oauth_client, settings, time_machine):
    settings.OAUTH2_AUTHORIZATION_CODE_LIFETIME = 300
    frozen = freeze(time_machine)
    get_code(web)
    assert AuthorizationCode.objects.get().expires_at == frozen + timedelta(seconds=300)


def test_code_of_another_client_is_invalid_grant(web, api, oauth_client, other_client):
    code, verifier = get_code(web)
    response = exchange(api, code, verifier, headers=basic("client-two", "secret-two"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 0


def test_redirect_uri_must_match_at_the_token_endpoint(web, api, oauth_client):
    code, verifier = get_code(web)
    response = exchange(api, code, verifier, redirect_uri="https://app.example.com/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# --- PKCE ------------------------------------------------------------------------------------


def test_pkce_is_required_by_default(web, oauth_client):
    response = web.get(url_with("/authorize/", authorize_params()))
    assert response.status_code == 400
    assert response.content == b"Error: invalid_request"
    response = web.post(url_with("/authorize/", authorize_params()), {"confirm": "yes"})
    assert response.status_code == 302
    query = query_of(response["Location"])
    assert query["error"] == "invalid_request"
    assert "code_challenge" in query["error_description"]
    assert AuthorizationCode.objects.count() == 0


def test_plain_pkce_is_refused(web, oauth_client):
    verifier = "a" * 50
    for method in ("plain", None):
        params = authorize_params(code_challenge=verifier, code_challenge_method=method)
        response = web.post(url_with("/authorize/", params), {"confirm": "yes"})
        query = query_of(response["Location"])
        assert query["error"] == "invalid_request", method
    assert AuthorizationCode.objects.count() == 0


def test_wrong_or_missing_code_verifier_is_refused(web, api, oauth_client):
    code, verifier = get_code(web)
    wrong = exchange(api, code, "b" * 60)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    missing = exchange(api, code, "")
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    assert Token.objects.count() == 0
    assert exchange(api, code, verifier).status_code == 200


def test_pkce_can_be_made_optional_for_confidential_clients(web, api, oauth_client, user):
    from server.oauth2 import AuthorizationServer
    from server.oauth2.grants import AuthorizationCodeGrant
    from tests.oauth2.exampleapp import views

    server = AuthorizationServer(views.query_client, views.save_token, require_pkce=False)
    server.register_grant(AuthorizationCodeGrant)
    from django.test import RequestFactory

    request = RequestFactory().post(url_with("/authorize/", authorize_params()))
    request.user = user
    response = server.create_authorization_response(request, user)
    code = query_of(response["Location"])["code"]
    token_request = RequestFactory().post(
        "/token/",
        f"grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_URI}",
        content_type="application/x-www-form-urlencoded",
        **basic(),
    )
    assert server.create_token_response(token_request).status_code == 200


def test_public_client_needs_pkce_even_when_optional(user, public_client):
    from django.test import RequestFactory

    from server.oauth2 import AuthorizationServer
    from server.oauth2.grants import AuthorizationCodeGrant
    from tests.oauth2.exampleapp import views

    server = AuthorizationServer(views.query_client, views.save_token, require_pkce=False)
    server.register_grant(AuthorizationCodeGrant)
    request = RequestFactory().post(url_with("/authorize/", authorize_params(client_id="public-one")))
    response = server.create_authorization_response(request, user)
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_public_client_flow_with_pkce(web, api, public_client, user):
    code, verifier = get_code(web, scope="profile", client_id="public-one")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": "public-one",
        "code_verifier": verifier,
    }
    response = api.post("/token/", data)
    assert response.status_code == 200, response.content
    assert Token.objects.get().client == public_client


# --- scopes ----------------------------------------------------------------------------------


def test_scope_the_client_may_not_have_is_invalid_scope(web, oauth_client):
    _verifier, challenge = pkce_pair()
    params = authorize_params(scope="profile admin", code_challenge=challenge, code_challenge_method="S256")
    page = web.get(url_with("/authorize/", params))
    assert page.status_code == 400 and page.content == b"Error: invalid_scope"
    response = web.post(url_with("/authorize/", params), {"confirm": "yes"})
    query = query_of(response["Location"])
    assert query["error"] == "invalid_scope"
    assert query["iss"] == "http://testserver"
    assert AuthorizationCode.objects.count() == 0


def test_no_scope_means_every_allowed_scope(web, api, oauth_client):
    verifier, challenge = pkce_pair()
    params = authorize_params(scope=None, code_challenge=challenge, code_challenge_method="S256")
    response = web.post(url_with("/authorize/", params), {"confirm": "yes"})
    code = query_of(response["Location"])["code"]
    assert exchange(api, code, verifier).json()["scope"] == "profile read write"


# --- refresh ---------------------------------------------------------------------------------


def _tokens(web, api, scope="profile read"):
    code, verifier = get_code(web, scope=scope)
    response = exchange(api, code, verifier)
    assert response.status_code == 200
    return response.json()


def refresh(api, refresh_token, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return api.post("/token/", data, **basic())


def test_refresh_rotates_the_refresh_token(web, api, oauth_client, user):
    first = _tokens(web, api)
    response = refresh(api, first["refresh_token"])
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["refresh_token"] and second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "profile read"
    assert second["expires_in"] == 3600
    old = Token.objects.get(access_token=first["access_token"])
    new = Token.objects.get(access_token=second["access_token"])
    assert old.revoked is True and new.revoked is False and new.user == user

    reused = refresh(api, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 2


def test_refresh_may_narrow_but_not_widen_the_scope(web, api, oauth_client):
    first = _tokens(web, api, scope="profile read")
    wider = refresh(api, first["refresh_token"], scope="profile read write")
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    narrower = refresh(api, first["refresh_token"], scope="profile")
    assert narrower.status_code == 200
    assert narrower.json()["scope"] == "profile"


def test_refresh_token_of_another_client_is_invalid_grant(web, api, oauth_client, other_client):
    first = _tokens(web, api)
    response = api.post(
        "/token/",
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        **basic("client-two", "secret-two"),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.filter(revoked=True).count() == 0


def test_unknown_refresh_token_is_invalid_grant(api, oauth_client):
    response = refresh(api, "no-such-token")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_token_response_is_json(web, api, oauth_client):
    code, verifier = get_code(web)
    response = exchange(api, code, verifier)
    assert json.loads(response.content)["access_token"]
    assert CLIENT_ID  # the default client of the helpers


def test_issuer_given_to_the_server_is_used(user, oauth_client):
    from django.test import RequestFactory

    from server.oauth2 import AuthorizationServer
    from server.oauth2.grants import AuthorizationCodeGrant
    from tests.oauth2.exampleapp import views

    server = AuthorizationServer(views.query_client, views.save_token, issuer="https://id.example.com/")
    server.register_grant(AuthorizationCodeGrant)
    _verifier, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    granted = server.create_authorization_response(
        RequestFactory().post(url_with("/authorize/", params)), user
    )
    denied = server.create_authorization_response(
        RequestFactory().post(url_with("/authorize/", params)), None
    )
    assert query_of(granted["Location"])["iss"] == "https://id.example.com"
    assert query_of(denied["Location"])["iss"] == "https://id.example.com"
    assert query_of(denied["Location"])["error"] == "access_denied"


def test_validated_grant_is_reused_on_the_same_request(
    user, oauth_client, django_assert_num_queries, package_signals_only
):
    from django.test import RequestFactory

    from tests.oauth2.exampleapp.views import authorization_server

    _verifier, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    request = RequestFactory().get(url_with("/authorize/", params))
    request.user = user
    grant = authorization_server.validate_consent_request(request, end_user=user)
    assert grant.client == oauth_client and grant.request.scope == "profile read"
    # No second client lookup: only the code is written.
    with django_assert_num_queries(1):
        response = authorization_server.create_authorization_response(request, user)
    assert "code" in query_of(response["Location"])


def test_a_code_the_client_was_not_given_redeems_nothing(web, api, oauth_client):
    """A made-up code is invalid_grant even while the client has a code outstanding (presented
    with that code's own verifier), and the outstanding code still works. Kills
    grants.xǁAuthorizationCodeGrantǁquery_authorization_code__mutmut_26 (the lookup without the
    code: any string redeemed the client's first code)."""
    code, verifier = get_code(web)
    wrong = exchange(api, "not-" + code, verifier)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 0
    assert exchange(api, code, verifier).status_code == 200


def test_a_code_asked_for_without_redirect_uri_is_exchanged_without_one(web, api, oauth_client):
    """RFC 6749 §4.1.3: redirect_uri is required at the token endpoint only if the authorization
    request included it. A client with one registered URI may leave it out of both. Kills
    grants.xǁAuthorizationCodeGrantǁsave_authorization_code__mutmut_13 (a code stored with a
    made-up redirect URI when the request named none)."""
    verifier, challenge = pkce_pair()
    params = authorize_params(redirect_uri=None, code_challenge=challenge, code_challenge_method="S256")
    response = web.post(url_with("/authorize/", params), {"confirm": "yes"})
    assert response.status_code == 302 and response["Location"].startswith(REDIRECT_URI + "?")
    code = query_of(response["Location"])["code"]
    assert AuthorizationCode.objects.get(code=code).redirect_uri == ""
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    token = api.post("/token/", data, **basic())
    assert token.status_code == 200, token.content
