"""The model-agnostic OAuthMiddleware, and the spec's own example middleware."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from server.oauth2 import OAuthMiddleware
from tests.oauth2.exampleapp.models import Token
from tests.oauth2.flow import bearer

pytestmark = pytest.mark.urls("tests.oauth2.exampleapp.urls")

PACKAGE = "server.oauth2.middleware.OAuthMiddleware"
EXAMPLE = "tests.oauth2.exampleapp.middleware.OAuthMiddleware"


@pytest.fixture
def with_middleware(settings):
    def install(path=PACKAGE, **extra):
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, path]
        for name, value in extra.items():
            setattr(settings, name, value)

    return install


def whoami(api, token=None):
    return api.get("/whoami/", **(bearer(token) if token else {})).json()


def test_valid_token_sets_user_and_token(api, user, oauth_client, make_token, with_middleware):
    with_middleware(OAUTH2_TOKEN_MODEL="exampleapp.Token")
    token = make_token(user, oauth_client)
    assert whoami(api, token.access_token) == {"authenticated": True, "username": "bob", "token_id": token.pk}


@pytest.mark.parametrize("state", ["none", "unknown", "expired", "revoked", "in the url"])
def test_request_is_left_alone_without_a_valid_token(
    api, user, oauth_client, make_token, with_middleware, state
):
    with_middleware(OAUTH2_TOKEN_MODEL="exampleapp.Token")
    token = make_token(user, oauth_client, expires_in=60)
    if state == "expired":
        Token.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    if state == "revoked":
        Token.objects.filter(pk=token.pk).update(revoked=True)
    value = {"none": None, "unknown": "unknown-token"}.get(state, token.access_token)
    path = f"/whoami/?access_token={token.access_token}" if state == "in the url" else "/whoami/"
    body = api.get(path, **(bearer(value) if value else {})).json()
    assert body == {"authenticated": False, "username": None, "token_id": None}


def test_session_user_is_kept_without_a_token(web, with_middleware):
    with_middleware(OAUTH2_TOKEN_MODEL="exampleapp.Token")
    assert whoami(web)["username"] == "bob"


def test_named_resource_protector_is_used(api, user, oauth_client, make_token, with_middleware):
    with_middleware(OAUTH2_RESOURCE_PROTECTOR="tests.oauth2.exampleapp.api.views.require_oauth")
    token = make_token(user, oauth_client)
    assert whoami(api, token.access_token)["token_id"] == token.pk


def test_user_is_loaded_lazily_and_once(
    api, user, oauth_client, make_token, with_middleware, django_assert_num_queries, package_signals_only
):
    from django.test import RequestFactory

    with_middleware(OAUTH2_TOKEN_MODEL="exampleapp.Token")
    token = make_token(user, oauth_client)
    middleware = OAuthMiddleware(lambda request: None)
    request = RequestFactory().get("/", **bearer(token.access_token))
    with django_assert_num_queries(1):  # the token only
        middleware(request)
    with django_assert_num_queries(1):  # the user, on first use
        assert request.user.username == "bob"
        assert request.user.is_authenticated
    with django_assert_num_queries(0):
        assert request.user.email == "bob@example.com"
    assert request.oauth_token == token


def test_deactivated_users_tokens_sign_in_nobody(api, user, oauth_client, make_token, with_middleware):
    with_middleware(OAUTH2_TOKEN_MODEL="exampleapp.Token")
    token = make_token(user, oauth_client)
    user.is_active = False
    user.save()
    assert whoami(api, token.access_token)["authenticated"] is False


def test_middleware_needs_a_setting(settings):
    settings.OAUTH2_RESOURCE_PROTECTOR = ""
    settings.OAUTH2_TOKEN_MODEL = ""
    with pytest.raises(ImproperlyConfigured):
        OAuthMiddleware(lambda request: None)
    settings.OAUTH2_TOKEN_MODEL = "exampleapp.NoSuchModel"
    with pytest.raises(ImproperlyConfigured):
        OAuthMiddleware(lambda request: None)
    settings.OAUTH2_RESOURCE_PROTECTOR = "tests.oauth2.flow.bearer"
    with pytest.raises(ImproperlyConfigured):
        OAuthMiddleware(lambda request: None)


@override_settings()
def test_spec_example_middleware(api, user, oauth_client, make_token, with_middleware):
    with_middleware(EXAMPLE)
    token = make_token(user, oauth_client)
    assert whoami(api, token.access_token) == {"authenticated": True, "username": "bob", "token_id": token.pk}
    Token.objects.filter(pk=token.pk).update(revoked=True)
    assert whoami(api, token.access_token)["authenticated"] is False
