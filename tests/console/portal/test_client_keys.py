"""A developer registers an app that authenticates with its own keys (private_key_jwt)."""

import json

import pytest

from server.models import Client, ClientSecret
from tests.console.portal.test_register import NEW, VALID
from tests.oidc.test_private_key_jwt import public_jwks, rp_key

pytestmark = pytest.mark.django_db


def test_register_an_app_with_its_public_keys_gets_no_secret(dev_client):
    jwks = public_jwks(rp_key())
    response = dev_client.post(
        NEW, {**VALID, "token_endpoint_auth_method": "private_key_jwt", "jwks": json.dumps(jwks)}, follow=True
    )
    assert response.status_code == 200
    client = Client.objects.get(name="Weather widget")
    assert client.token_endpoint_auth_method == "private_key_jwt" and client.jwks == jwks
    assert not ClientSecret.objects.filter(client=client).exists()
    assert "signed by its own key" in response.content.decode()


def test_register_with_a_jwks_uri(dev_client):
    data = {
        **VALID,
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://weather.example.com/jwks",
    }
    assert dev_client.post(NEW, data).status_code == 302
    assert Client.objects.get(name="Weather widget").jwks_uri == "https://weather.example.com/jwks"


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"jwks": json.dumps({"keys": [rp_key().as_dict(private=True)]})}, "jwks", "private key members"),
        ({}, "jwks", "needs the client's public keys"),
        ({"jwks_uri": "https://192.168.0.10/jwks"}, "jwks_uri", "192.168.0.10"),
    ],
)
def test_bad_keys_are_refused_next_to_their_field(dev_client, extra, field, message):
    response = dev_client.post(NEW, {**VALID, "token_endpoint_auth_method": "private_key_jwt", **extra})
    assert response.status_code in (200, 400)
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert not Client.objects.exists()


def test_a_secret_app_keeps_its_method_when_edited(dev_client, app):
    client, _secret = app
    Client.objects.filter(pk=client.pk).update(token_endpoint_auth_method="client_secret_post")
    url = f"/developers/apps/{client.client_id}/edit/"
    data = {
        "name": "Renamed",
        "description": "",
        "client_uri": "",
        "logo_uri": "",
        "redirect_uris": "https://app.example.com/callback",
        "grant_types": ["authorization_code"],
        "scope": ["profile"],
    }
    assert dev_client.post(url, data).status_code == 302
    client.refresh_from_db()
    assert client.token_endpoint_auth_method == "client_secret_post"
    # Switching to keys (an approved app's keys are not held for review: people never see them).
    jwks = public_jwks(rp_key())
    data.update(token_endpoint_auth_method="private_key_jwt", jwks=json.dumps(jwks))
    assert dev_client.post(url, data).status_code == 302
    client.refresh_from_db()
    assert client.token_endpoint_auth_method == "private_key_jwt" and client.jwks == jwks
