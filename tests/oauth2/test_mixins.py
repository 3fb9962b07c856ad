"""The model mixins on the spec's example models, including the traps those models set."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.utils import timezone

from server.oauth2 import ClientMixin
from tests.oauth2.exampleapp.models import AuthorizationCode, Client, Token


def test_client_checks_read_space_separated_fields_as_lists(oauth_client):
    # TextFields hold "authorization_code refresh_token": "code" is a substring, not a grant type.
    assert oauth_client.check_grant_type("authorization_code")
    assert oauth_client.check_grant_type("refresh_token")
    assert not oauth_client.check_grant_type("code")
    assert not oauth_client.check_grant_type("client_credentials")
    assert oauth_client.check_response_type("code")
    assert not oauth_client.check_response_type("co")


def test_client_scopes_and_redirects(oauth_client):
    assert oauth_client.get_allowed_scope("profile admin read") == "profile read"
    assert oauth_client.get_allowed_scope("") == "profile read write"
    assert oauth_client.check_redirect_uri("https://app.example.com/callback")
    assert not oauth_client.check_redirect_uri("https://app.example.com/callback/")
    assert oauth_client.get_default_redirect_uri() == "https://app.example.com/callback"
    oauth_client.redirect_uris = "https://a.example/1 https://a.example/2"
    assert oauth_client.get_default_redirect_uri() == ""  # ambiguous: the request must name one


def test_client_secret_is_compared_in_constant_time(oauth_client):
    with mock.patch("server.oauth2.mixins.hmac.compare_digest", return_value=True) as compare:
        assert oauth_client.check_client_secret("anything")
    compare.assert_called_once_with(b"secret-one", b"anything")
    assert oauth_client.check_client_secret("secret-one")
    assert not oauth_client.check_client_secret("secret-on")
    assert not oauth_client.check_client_secret("sécret")  # non-ASCII: no TypeError
    assert not oauth_client.check_client_secret("")


def test_expired_client_secret_fails():
    client = SimpleNamespace(client_secret="s", client_secret_expires_at=1)
    assert not ClientMixin.check_client_secret(client_with(client), "s")


def client_with(namespace):
    class Plain(ClientMixin):
        pass

    plain = Plain()
    plain.__dict__.update(vars(namespace))
    return plain


def test_auth_methods_follow_the_secret(oauth_client, public_client):
    assert oauth_client.check_endpoint_auth_method("client_secret_basic", "token")
    assert not oauth_client.check_endpoint_auth_method("none", "token")
    assert not oauth_client.check_endpoint_auth_method("client_secret_post", "revocation")
    assert public_client.check_endpoint_auth_method("none", "token")
    assert not public_client.check_endpoint_auth_method("client_secret_basic", "token")
    explicit = client_with(
        SimpleNamespace(client_secret="s", token_endpoint_auth_methods="client_secret_post")
    )
    assert explicit.check_token_endpoint_auth_method("client_secret_post")
    assert not explicit.check_token_endpoint_auth_method("client_secret_basic")


def test_token_check_client_compares_oauth_ids_not_primary_keys(user, oauth_client, other_client, make_token):
    token = make_token(user, oauth_client)
    # The trap: the ForeignKey's client_id (an integer pk) hides the model's client_id property.
    assert token.client_id == oauth_client.pk
    assert token.check_client(oauth_client)
    assert not token.check_client(other_client)
    assert token.get_client_id() == "client-one"
    # A client that is not the related model is compared by OAuth client_id.
    assert token.check_client(SimpleNamespace(get_client_id=lambda: "client-one"))
    assert not token.check_client(SimpleNamespace(get_client_id=lambda: str(oauth_client.pk)))
    assert not token.check_client(None)


def test_token_lifetime_and_revocation(user, oauth_client, make_token):
    token = make_token(user, oauth_client, expires_in=100)
    assert token.get_expires_in() == 100
    assert token.get_expires_at() == token.issued_at + 100
    assert not token.is_expired() and not token.is_revoked()
    Token.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(seconds=101))
    token.refresh_from_db()
    assert token.is_expired()
    token.revoked = True
    assert token.is_revoked()
    assert token.get_user() == user
    assert token.get_scope() == "profile read"
    assert token.get_user_id() == str(user.pk)


def test_authorization_code_getters(user, oauth_client):
    code = AuthorizationCode.objects.create(
        user=user,
        client=oauth_client,
        code="abc",
        redirect_uri="https://app.example.com/callback",
        scope="profile",
        expires_at=timezone.now() + timedelta(seconds=30),
        code_challenge="x" * 43,
        code_challenge_method="S256",
    )
    assert code.get_redirect_uri() == "https://app.example.com/callback"
    assert code.get_scope() == "profile"
    assert code.get_user_id() == str(user.pk)
    assert code.get_user() == user
    assert code.get_client_id() == "client-one"
    assert code.check_client(oauth_client)
    assert code.get_code_challenge() == "x" * 43
    assert code.get_code_challenge_method() == "S256"
    assert not code.is_expired()
    code.expires_at = timezone.now() - timedelta(seconds=1)
    assert code.is_expired()


@pytest.mark.django_db
def test_models_carry_the_mixins():
    from server.oauth2 import AuthorizationCodeMixin, TokenMixin

    assert issubclass(Client, ClientMixin)
    assert issubclass(AuthorizationCode, AuthorizationCodeMixin)
    assert issubclass(Token, TokenMixin)
