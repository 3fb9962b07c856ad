"""Fixtures for the server.oauth2 tests: the spec's example app and its models."""

from __future__ import annotations

import pytest
from django.test import Client as WebClient

from tests.oauth2.exampleapp.models import Client
from tests.oauth2.flow import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI


class FormClient(WebClient):
    """A test client whose `post` URL-encodes dicts as forms unless told otherwise."""

    def post(self, path, data=None, content_type="application/x-www-form-urlencoded", **extra):
        if isinstance(data, dict) and content_type == "application/x-www-form-urlencoded":
            from urllib.parse import urlencode

            data = urlencode(data)
        return super().post(path, data or "", content_type=content_type, **extra)


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("carol", "carol@example.com", "carol-password-123")


@pytest.fixture
def oauth_client(db):
    return Client.objects.create(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        name="Example app",
        redirect_uris=REDIRECT_URI,
        allowed_scopes="profile read write",
    )


@pytest.fixture
def other_client(db):
    return Client.objects.create(
        client_id="client-two",
        client_secret="secret-two",
        name="Other app",
        redirect_uris="https://other.example.com/cb",
        allowed_scopes="profile read write",
    )


@pytest.fixture
def public_client(db):
    """A client without a secret: it authenticates with its client_id only ("none")."""
    return Client.objects.create(
        client_id="public-one",
        client_secret="",
        name="Public app",
        redirect_uris=REDIRECT_URI,
        allowed_scopes="profile read",
    )


@pytest.fixture
def api(db):
    """An anonymous client application."""
    return FormClient()


@pytest.fixture
def web(user):
    """The signed-in end user's browser."""
    browser = FormClient()
    browser.force_login(user)
    return browser


@pytest.fixture
def make_token(db):
    """Store a token row directly: make_token(user, client, scope="profile", **fields)."""
    import secrets

    from tests.oauth2.exampleapp.models import Token

    def make(user, client, scope="profile read", **fields):
        fields.setdefault("access_token", secrets.token_urlsafe(32))
        fields.setdefault("refresh_token", secrets.token_urlsafe(48))
        return Token.objects.create(user=user, client=client, scope=scope, **fields)

    return make


@pytest.fixture(autouse=True)
def _no_configured_issuer(settings):
    # The tests expect the issuer and realm derived from the request unless they set one.
    settings.OAUTH2_ISSUER = ""


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def package_signals_only():
    """Disconnect every receiver of the package's signals for the test (the project's audit
    receivers write rows of their own, which query-count tests must not count)."""
    from unittest import mock

    from server.oauth2 import signals

    patches = [
        mock.patch.object(getattr(signals, name), "receivers", [])
        for name in (
            "client_authenticated",
            "client_authentication_failed",
            "token_authenticated",
            "token_revoked",
            "token_issued",
            "authorization_code_replayed",
            "refresh_token_reused",
            "consent_granted",
            "consent_denied",
        )
    ]
    for patch in patches:
        patch.start()
    yield
    for patch in patches:
        patch.stop()
