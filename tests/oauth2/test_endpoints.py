"""RFC 7009 revocation and RFC 7662 introspection, through the example app and standalone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from server.oauth2 import AuthorizationServer, IntrospectionEndpoint, RevocationEndpoint, token_revoked
from tests.oauth2.exampleapp import views
from tests.oauth2.exampleapp.models import Token
from tests.oauth2.flow import basic, bearer, form

pytestmark = pytest.mark.urls("tests.oauth2.exampleapp.urls")


@pytest.fixture
def revocations():
    seen = []

    def receiver(sender, **kwargs):
        seen.append((sender, kwargs))

    token_revoked.connect(receiver)
    yield seen
    token_revoked.disconnect(receiver)


def revoke(api, token, hint=None, headers=None):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    return api.post("/revoke/", data, **(headers if headers is not None else basic()))


def assert_no_store(response):
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    assert response["Content-Type"] == "application/json"


# --- revocation ------------------------------------------------------------------------------


def test_client_revokes_its_access_token(api, user, oauth_client, make_token, revocations):
    token = make_token(user, oauth_client)
    response = revoke(api, token.access_token)
    assert response.status_code == 200
    assert response.json() == {}
    assert_no_store(response)
    token.refresh_from_db()
    assert token.revoked is True
    assert api.get("/api/user/", **bearer(token.access_token)).status_code == 401
    ((sender, kwargs),) = revocations
    assert sender is RevocationEndpoint
    assert kwargs["token"] == token and kwargs["client"] == oauth_client
    assert kwargs["request"].path == "/revoke/"


@pytest.mark.parametrize("hint", ["refresh_token", "access_token", None])
def test_refresh_token_is_found_whatever_the_hint(api, user, oauth_client, make_token, hint):
    token = make_token(user, oauth_client)
    assert revoke(api, token.refresh_token, hint).status_code == 200
    token.refresh_from_db()
    assert token.revoked is True


def test_token_of_another_client_is_answered_200_and_not_revoked(
    api, user, oauth_client, other_client, make_token, revocations
):
    token = make_token(user, oauth_client)
    response = revoke(api, token.access_token, headers=basic("client-two", "secret-two"))
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked is False
    assert revocations == []


def test_unknown_token_is_answered_200(api, oauth_client, revocations):
    response = revoke(api, "no-such-token")
    assert response.status_code == 200
    assert revocations == []


def test_unsupported_hint_is_refused(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client)
    response = revoke(api, token.access_token, hint="id_token")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_token_type"
    token.refresh_from_db()
    assert token.revoked is False


def test_missing_token_is_invalid_request(api, oauth_client):
    response = api.post("/revoke/", {"token_type_hint": "access_token"}, **basic())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert_no_store(response)


def test_revocation_requires_client_authentication(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client)
    anonymous = revoke(api, token.access_token, headers={})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    wrong = revoke(api, token.access_token, headers=basic("client-one", "wrong"))
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith('Basic realm="http://testserver"')
    token.refresh_from_db()
    assert token.revoked is False


def test_public_client_revokes_with_its_client_id(api, user, public_client, make_token):
    token = make_token(user, public_client)
    response = api.post("/revoke/", {"token": token.access_token, "client_id": "public-one"})
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked is True


def test_revocation_accepts_only_post(api, oauth_client):
    response = api.get("/revoke/?token=x", **basic())
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"] == "invalid_request"


def test_registered_endpoint_uses_the_spec_callables(user, oauth_client, make_token, revocations):
    token = make_token(user, oauth_client)
    calls = []

    def query_token(token_string, token_type_hint=None, client=None):
        calls.append(("query", token_string, token_type_hint, client))
        return Token.objects.filter(access_token=token_string).first()

    def revoke_token(found, client=None):
        calls.append(("revoke", found, client))
        Token.objects.filter(pk=found.pk).delete()

    server = AuthorizationServer(views.query_client, views.save_token)
    server.register_endpoint(RevocationEndpoint(query_token, revoke_token))
    request = RequestFactory().post(
        "/r",
        form({"token": token.access_token, "token_type_hint": "access_token"}),
        content_type="application/x-www-form-urlencoded",
        **basic(),
    )
    response = server.create_revocation_response(request)
    assert response.status_code == 200
    assert calls == [
        ("query", token.access_token, "access_token", oauth_client),
        ("revoke", token, oauth_client),
    ]
    assert not Token.objects.filter(pk=token.pk).exists()
    assert len(revocations) == 1
    # authlib's generic entry point reaches the same endpoint.
    again = RequestFactory().post(
        "/r", form({"token": "gone"}), content_type="application/x-www-form-urlencoded", **basic()
    )
    assert server.create_endpoint_response("revocation", again).status_code == 200


def test_standalone_revocation_endpoint(user, oauth_client, make_token):
    token = make_token(user, oauth_client)
    endpoint = RevocationEndpoint(query_client=views.query_client)
    request = RequestFactory().post(
        "/r", form({"token": token.access_token}), content_type="application/x-www-form-urlencoded", **basic()
    )
    assert endpoint.create_revocation_response(request).status_code == 200
    token.refresh_from_db()
    assert token.revoked is True


def test_endpoint_without_a_server_says_what_is_missing():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        RevocationEndpoint().create_revocation_response(RequestFactory().post("/r"))


# --- introspection ---------------------------------------------------------------------------


def introspect(api, token, hint=None, headers=None):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    return api.post("/introspect/", data, **(headers if headers is not None else basic()))


def test_introspection_describes_an_active_token(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="profile read")
    response = introspect(api, token.access_token)
    assert response.status_code == 200
    assert_no_store(response)
    assert response.json() == {
        "active": True,
        "scope": "profile read",
        "client_id": "client-one",
        "username": "bob",
        "token_type": "Bearer",
        "exp": token.issued_at + 3600,
        "iat": token.issued_at,
        "sub": str(user.pk),
        "aud": "client-one",
        "iss": "http://testserver",
    }


def test_introspection_of_a_refresh_token(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, expires_in=60)
    Token.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(hours=1))
    body = introspect(api, token.refresh_token, hint="refresh_token").json()
    # The access token expired; its refresh token is still good.
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert introspect(api, token.access_token).json() == {"active": False}


@pytest.mark.parametrize("state", ["expired", "revoked", "unknown", "other client"])
def test_inactive_tokens(api, user, oauth_client, other_client, make_token, state):
    token = make_token(user, oauth_client, expires_in=60)
    value = token.access_token
    headers = basic()
    if state == "expired":
        Token.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    elif state == "revoked":
        Token.objects.filter(pk=token.pk).update(revoked=True)
    elif state == "unknown":
        value = "no-such-token"
    else:
        headers = basic("client-two", "secret-two")
    response = introspect(api, value, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_introspection_errors(api, user, oauth_client, public_client, make_token):
    token = make_token(user, oauth_client)
    assert introspect(api, token.access_token, headers={}).status_code == 401
    public = api.post("/introspect/", {"token": token.access_token, "client_id": "public-one"})
    assert public.status_code == 401  # a resource server must authenticate
    bad_hint = introspect(api, token.access_token, hint="id_token")
    assert bad_hint.status_code == 400 and bad_hint.json()["error"] == "unsupported_token_type"
    missing = api.post("/introspect/", {}, **basic())
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_check_permission_and_introspect_token_are_hooks(user, oauth_client, other_client, make_token):
    token = make_token(user, oauth_client)

    class ResourceServerIntrospection(IntrospectionEndpoint):
        def check_permission(self, token, client, request):
            return client.client_id == "client-two"  # a resource server may see every token

    def query_token(token_string, token_type_hint=None, client=None):
        return Token.objects.filter(access_token=token_string).first()

    server = AuthorizationServer(views.query_client, views.save_token, issuer="https://issuer.example")
    server.register_endpoint(ResourceServerIntrospection(query_token, lambda t: {"active": True, "sub": "x"}))

    def ask(credentials):
        request = RequestFactory().post(
            "/i",
            form({"token": token.access_token}),
            content_type="application/x-www-form-urlencoded",
            **credentials,
        )
        return server.create_introspection_response(request)

    assert ask(basic("client-two", "secret-two")).content == b'{"active": true, "sub": "x"}'
    assert ask(basic()).content == b'{"active": false}'


def test_default_introspection_uses_the_servers_issuer(user, oauth_client, make_token):
    token = make_token(user, oauth_client)
    server = AuthorizationServer(views.query_client, views.save_token, issuer="https://issuer.example/")
    endpoint = IntrospectionEndpoint(server=server)
    request = RequestFactory().post(
        "/i", form({"token": token.access_token}), content_type="application/x-www-form-urlencoded", **basic()
    )
    import json

    assert (
        json.loads(endpoint.create_introspection_response(request).content)["iss"] == "https://issuer.example"
    )


def test_an_inactive_answer_from_introspect_token_is_only_active_false(user, oauth_client, make_token):
    token = make_token(user, oauth_client)

    class Strict(IntrospectionEndpoint):
        def introspect_token(self, token):
            return {"active": False, "reason": "client disabled"}

    server = AuthorizationServer(views.query_client, views.save_token)
    server.register_endpoint(Strict())
    request = RequestFactory().post(
        "/i", form({"token": token.access_token}), content_type="application/x-www-form-urlencoded", **basic()
    )
    assert server.create_introspection_response(request).content == b'{"active": false}'
