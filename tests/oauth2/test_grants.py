"""The ORM grants on their own: client credentials, model discovery, lifetimes, overrides."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from server.oauth2 import AuthorizationServer
from server.oauth2.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    find_related_model,
    mark_token_revoked,
)
from server.oauth2.mixins import AuthorizationCodeMixin, TokenMixin
from tests.oauth2.exampleapp import views
from tests.oauth2.exampleapp.models import AuthorizationCode, Client, Token
from tests.oauth2.flow import basic, form


def token_request(data, **extra):
    return RequestFactory().post(
        "/token/", form(data), content_type="application/x-www-form-urlencoded", **extra
    )


@pytest.fixture
def service_client(db):
    return Client.objects.create(
        client_id="service",
        client_secret="service-secret",
        name="Service",
        redirect_uris="https://service.example/cb",
        allowed_scopes="read write",
        grant_types="client_credentials",
    )


@pytest.fixture
def cc_server():
    issued = []

    def save_token(token, request):
        issued.append((token, request.grant_type, request.client, request.user, request.credential))

    server = AuthorizationServer(views.query_client, save_token)
    server.register_grant(ClientCredentialsGrant)
    server.issued = issued
    return server


def test_client_credentials_issue_a_one_hour_token_without_refresh(cc_server, service_client):
    response = cc_server.create_token_response(
        token_request(
            {"grant_type": "client_credentials", "scope": "read"}, **basic("service", "service-secret")
        )
    )
    assert response.status_code == 200, response.content
    import json

    body = json.loads(response.content)
    assert body["expires_in"] == 3600  # authlib's default for this grant is 10 days
    assert body["scope"] == "read"
    assert "refresh_token" not in body
    ((token, grant_type, client, user, credential),) = cc_server.issued
    assert token["access_token"] == body["access_token"]
    assert (grant_type, client, user, credential) == ("client_credentials", service_client, None, None)


def test_client_credentials_scope_beyond_the_client_is_invalid_scope(cc_server, service_client):
    response = cc_server.create_token_response(
        token_request(
            {"grant_type": "client_credentials", "scope": "read admin"}, **basic("service", "service-secret")
        )
    )
    assert response.status_code == 400
    assert b'"invalid_scope"' in response.content
    assert cc_server.issued == []


def test_client_not_registered_for_the_grant_is_unauthorized(cc_server, oauth_client):
    response = cc_server.create_token_response(token_request({"grant_type": "client_credentials"}, **basic()))
    assert response.status_code == 400
    assert b'"unauthorized_client"' in response.content


def test_lifetimes_are_configurable(service_client):
    server = AuthorizationServer(
        views.query_client, lambda token, request: None, token_expires_in={"client_credentials": 120}
    )
    server.register_grant(ClientCredentialsGrant)
    response = server.create_token_response(
        token_request({"grant_type": "client_credentials"}, **basic("service", "service-secret"))
    )
    assert b'"expires_in": 120' in response.content


def test_lifetime_setting_is_the_default(service_client, settings):
    settings.OAUTH2_ACCESS_TOKEN_LIFETIME = 600
    server = AuthorizationServer(views.query_client, lambda token, request: None)
    assert server.get_token_expires_in(service_client, "authorization_code") == 600
    callable_server = AuthorizationServer(
        views.query_client, lambda t, r: None, token_expires_in=lambda c, g: 7
    )
    assert callable_server.get_token_expires_in(service_client, "refresh_token") == 7


def test_models_are_found_through_the_client(oauth_client):
    assert find_related_model(oauth_client, AuthorizationCodeMixin) is AuthorizationCode
    assert find_related_model(oauth_client, TokenMixin) is Token
    with pytest.raises(ImproperlyConfigured):
        find_related_model(object(), TokenMixin)


def test_grant_model_attributes_win(oauth_client):
    class Custom(RefreshTokenGrant):
        token_model = "configured"

    assert Custom(None, None).get_token_model(oauth_client) == "configured"
    assert RefreshTokenGrant(None, None).get_token_model(oauth_client) is Token


def test_mark_token_revoked_is_conditional(user, oauth_client, make_token):
    token = make_token(user, oauth_client)
    assert mark_token_revoked(token) is True
    assert mark_token_revoked(Token.objects.get(pk=token.pk)) is False
    assert Token.objects.get(pk=token.pk).revoked is True


def test_refresh_grant_rotates_by_default():
    assert RefreshTokenGrant.INCLUDE_NEW_REFRESH_TOKEN is True
    assert "none" in AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS


@pytest.mark.urls("tests.oauth2.exampleapp.urls")
def test_refresh_tokens_older_than_the_setting_are_refused(web, api, oauth_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from tests.oauth2.flow import exchange, get_code

    settings.OAUTH2_REFRESH_TOKEN_LIFETIME = 3600
    code, verifier = get_code(web)
    refresh = exchange(api, code, verifier).json()["refresh_token"]
    Token.objects.update(created_at=timezone.now() - timedelta(seconds=3601))
    response = api.post("/token/", {"grant_type": "refresh_token", "refresh_token": refresh}, **basic())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_token_lifetime_comes_from_the_class_then_the_setting(settings):
    """Kills grants.xǁRefreshTokenGrantǁget_refresh_token_lifetime mutants (the class attribute
    ignored; an unset lifetime read as a number)."""

    class Fixed(RefreshTokenGrant):
        REFRESH_TOKEN_EXPIRES_IN = 90

    class FixedCode(AuthorizationCodeGrant):
        AUTHORIZATION_CODE_EXPIRES_IN = 30

    # grants.xǁAuthorizationCodeGrantǁget_authorization_code_lifetime__mutmut_2: the class wins.
    assert object.__new__(FixedCode).get_authorization_code_lifetime() == 30

    settings.OAUTH2_REFRESH_TOKEN_LIFETIME = 3600
    assert Fixed(None, None).get_refresh_token_lifetime() == 90
    assert RefreshTokenGrant(None, None).get_refresh_token_lifetime() == 3600
    settings.OAUTH2_REFRESH_TOKEN_LIFETIME = None
    assert RefreshTokenGrant(None, None).get_refresh_token_lifetime() is None
    settings.OAUTH2_REFRESH_TOKEN_LIFETIME = 0
    assert RefreshTokenGrant(None, None).get_refresh_token_lifetime() is None


def test_refresh_token_expiry_is_counted_from_issued_at(monkeypatch, settings):
    """A refresh token is good up to and including issued_at + lifetime, for ever without a
    lifetime, and a model without `issued_at` never expires it. Kills
    grants.xǁRefreshTokenGrantǁis_refresh_token_expired mutants (`>=` for `>`, `and` for `or`,
    True for "no lifetime", a missing `issued_at` raising)."""
    from types import SimpleNamespace

    from server.oauth2 import grants as grants_module

    now = 1_800_000_000
    monkeypatch.setattr(
        grants_module, "timezone", SimpleNamespace(now=lambda: SimpleNamespace(timestamp=lambda: float(now)))
    )
    grant = RefreshTokenGrant(None, None)
    settings.OAUTH2_REFRESH_TOKEN_LIFETIME = 60
    assert grant.is_refresh_token_expired(SimpleNamespace(issued_at=now - 60)) is False
    assert grant.is_refresh_token_expired(SimpleNamespace(issued_at=now - 61)) is True
    assert grant.is_refresh_token_expired(SimpleNamespace()) is False
    settings.OAUTH2_REFRESH_TOKEN_LIFETIME = None
    assert grant.is_refresh_token_expired(SimpleNamespace(issued_at=0)) is False


@pytest.mark.parametrize("grant_class", [AuthorizationCodeGrant, RefreshTokenGrant])
def test_the_user_comes_from_get_user_else_from_the_user_relation(grant_class, user):
    """A code or token model may define `get_user`; one without it is read through its user
    relation (or `user_id`). Kills the authenticate_user mutants of both grants."""
    from types import SimpleNamespace

    marker = object()
    grant = grant_class(None, None) if grant_class is RefreshTokenGrant else object.__new__(grant_class)
    assert grant.authenticate_user(SimpleNamespace(get_user=lambda: marker, user_id=user.pk)) is marker
    assert grant.authenticate_user(SimpleNamespace(user_id=user.pk)) == user
    assert grant.authenticate_user(SimpleNamespace(user_id=None)) is None


def test_a_redeemed_code_is_remembered_without_its_cached_relations(oauth_client, user, monkeypatch):
    """The copy kept to recognise a replay holds no cached relation (a pickled user would carry
    its password hash), the original keeps its own, and the copy is kept REDEEMED_CODE_MEMORY
    seconds. A code object that is not a Django model is remembered as it is; one without a code,
    not at all. Kills grants.xǁAuthorizationCodeGrantǁremember_redeemed_code mutants."""
    from types import SimpleNamespace

    from django.utils import timezone

    from server.oauth2 import grants as grants_module

    stored = []
    monkeypatch.setattr(
        grants_module,
        "cache",
        SimpleNamespace(set=lambda key, value, timeout: stored.append((key, value, timeout))),
    )
    AuthorizationCode.objects.create(
        code="abc",
        client=oauth_client,
        user=user,
        redirect_uri="https://a.example/cb",
        expires_at=timezone.now(),
    )
    code = AuthorizationCode.objects.select_related("user", "client").get(code="abc")
    grant = object.__new__(AuthorizationCodeGrant)

    grant.remember_redeemed_code(code)
    ((key, snapshot, timeout),) = stored
    assert key == AuthorizationCodeGrant._redeemed_key("abc")
    assert timeout == AuthorizationCodeGrant.REDEEMED_CODE_MEMORY == 3600
    assert (snapshot.pk, snapshot.code) == (code.pk, "abc")
    assert snapshot._state.fields_cache == {}
    assert set(code._state.fields_cache) == {"user", "client"}

    stored.clear()
    grant.remember_redeemed_code(SimpleNamespace(code="xyz"))
    ((key, snapshot, _),) = stored
    assert (key, snapshot.code) == (AuthorizationCodeGrant._redeemed_key("xyz"), "xyz")

    stored.clear()
    grant.remember_redeemed_code(SimpleNamespace())
    grant.remember_redeemed_code(SimpleNamespace(code=""))
    assert stored == []


def test_a_user_is_active_unless_its_model_says_otherwise():
    """A deactivated user's codes and refresh tokens get nothing new; a user model without the
    `is_active` flag is always active. Kills grants.x__is_active mutants."""
    from types import SimpleNamespace

    from server.oauth2.grants import _is_active

    assert _is_active(SimpleNamespace(is_active=False)) is False
    assert _is_active(SimpleNamespace(is_active=True)) is True
    assert _is_active(SimpleNamespace()) is True


def test_the_authorization_redirect_uri_is_the_registered_one_or_the_only_one():
    """The errors say what is wrong (the page shows the description); a missing URI's error keeps
    the state. Kills grants.xǁAuthorizationCodeGrantǁvalidate_authorization_redirect_uri mutants."""
    from types import SimpleNamespace

    from server.oauth2.errors import InvalidRequestError

    def request(redirect_uri, scope="profile", **data):
        payload = SimpleNamespace(redirect_uri=redirect_uri, state="st-1", scope=scope, data=data)
        return SimpleNamespace(payload=payload)

    def client(registered, default=None):
        return SimpleNamespace(
            check_redirect_uri=lambda uri: uri in registered, get_default_redirect_uri=lambda: default
        )

    check = AuthorizationCodeGrant.validate_authorization_redirect_uri
    assert check(request("https://a.example/cb"), client(["https://a.example/cb"])) == "https://a.example/cb"
    registered = client(["https://a.example/cb"])
    assert check(request("https://a.example/cb", response_mode="query"), registered) == "https://a.example/cb"
    with pytest.raises(InvalidRequestError) as caught:
        check(request("https://a.example/cb", response_mode="fragment"), registered)
    assert caught.value.description == (
        "This server answers in the query only: leave response_mode out or send response_mode=query."
    )
    assert (
        check(request(None), client(["https://a.example/cb"], "https://a.example/cb"))
        == "https://a.example/cb"
    )
    with pytest.raises(InvalidRequestError) as caught:
        check(request("https://evil.example/cb"), client(["https://a.example/cb"], "https://a.example/cb"))
    assert caught.value.description == "The redirect_uri is not registered for this client."
    with pytest.raises(InvalidRequestError) as caught:
        check(request(None), client(["https://a.example/1", "https://a.example/2"]))
    assert (caught.value.description, caught.value.state) == ("Missing 'redirect_uri' in request.", "st-1")
    # OpenID Connect: the URI must be named even when only one is registered (OIDC Core §3.1.2.1).
    with pytest.raises(InvalidRequestError) as caught:
        check(request(None, "openid profile"), client(["https://a.example/cb"], "https://a.example/cb"))
    assert caught.value.description == "An OpenID Connect request must name its redirect_uri."
