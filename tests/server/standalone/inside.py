"""Run by tests/server/test_standalone.py in a process under tests/server/standalone/settings.py
(a bare startproject with only `server` added): the app on server/conf.py's defaults alone."""

import functools
from base64 import b64encode
from urllib.parse import urlencode

import pytest
from django.conf import settings


def test_no_server_setting_is_configured():
    from server.conf import SETTINGS

    assert [name for name in SETTINGS if hasattr(settings, name)] == []


@pytest.mark.django_db(transaction=True)
def test_metadata_and_a_client_credentials_token(client):
    from server import services
    from server.actors import Actor

    metadata = client.get("/.well-known/oauth-authorization-server")
    assert metadata.status_code == 200, metadata.content
    body = metadata.json()
    # No OAUTH2_ISSUER (DEBUG on): the issuer is the request's origin.
    assert body["issuer"] == "http://testserver"
    assert body["token_endpoint"] == "http://testserver/oauth/token"
    assert set(body["scopes_supported"]) == {
        "openid",
        "profile",
        "email",
        "address",
        "phone",
        "read",
        "write",
    }

    machine, secret = services.create_client(
        name="Nightly job", actor=Actor.system("tests"), grant_types=["client_credentials"], scope=["read"]
    )
    basic = b64encode(f"{machine.client_id}:{secret}".encode()).decode()
    form = urlencode({"grant_type": "client_credentials", "scope": "read"})
    post = functools.partial(
        client.post,
        "/oauth/token",
        form,
        "application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    # OAUTH2_REQUIRE_HTTPS's default with DEBUG off (pytest-django turns it off): plain HTTP refused.
    plain = post()
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_request"
    token = post(secure=True)
    assert token.status_code == 200, token.content
    issued = token.json()
    assert issued["token_type"].lower() == "bearer" and issued["scope"] == "read"
    # OAUTH2_ACCESS_TOKEN_LIFETIME's default.
    assert issued["expires_in"] == 3600
    assert token["Cache-Control"] == "no-store"
