"""A client's keys for private_key_jwt in the operator console: the same policy as every door."""

import json

import pytest

from server.models import Client, ClientSecret
from tests.console.operator.test_client_admin import add_url, change_form, change_url, create_form
from tests.oidc.test_private_key_jwt import public_jwks, rp_key

pytestmark = pytest.mark.django_db


def test_create_a_private_key_jwt_client_with_its_jwk_set(ops):
    jwks = public_jwks(rp_key())
    form = create_form(name="Key app", token_endpoint_auth_method="private_key_jwt", jwks=json.dumps(jwks))
    response = ops.post(add_url(), form, follow=True)
    assert response.status_code == 200
    client = Client.objects.get(name="Key app")
    assert client.token_endpoint_auth_method == "private_key_jwt" and client.jwks == jwks
    assert response.context["secret"] is None
    assert not ClientSecret.objects.filter(client=client).exists()
    assert "signed by its own key" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"jwks": json.dumps({"keys": [rp_key().as_dict(private=True)]})}, "jwks", "private key members"),
        ({"jwks": "{not json"}, "jwks", "not valid JSON"),
        ({}, "jwks", "needs the client's public keys"),
        ({"jwks_uri": "http://keys.example.com/jwks"}, "jwks_uri", "https"),
        ({"jwks_uri": "https://169.254.169.254/jwks"}, "jwks_uri", "169.254.169.254"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "token_endpoint_auth_method", "valid choice"),
    ],
)
def test_bad_keys_are_refused_next_to_their_field(ops, overrides, field, message):
    form = create_form(**{"name": "Key app", "token_endpoint_auth_method": "private_key_jwt", **overrides})
    response = ops.post(add_url(), form)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not Client.objects.exists()


def test_change_a_client_to_a_jwks_uri(ops, make_client):
    client, _ = make_client(
        "Key app", token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(rp_key())
    )
    page = ops.get(change_url(client)).content.decode()
    assert "&quot;keys&quot;" in page  # the stored JWK Set, as JSON text
    form = change_form(client, jwks="", jwks_uri="https://keys.example.com/jwks.json")
    response = ops.post(change_url(client), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    client.refresh_from_db()
    assert client.jwks is None and client.jwks_uri == "https://keys.example.com/jwks.json"
