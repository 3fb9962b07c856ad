"""private_key_jwt clients through import and export: keys round-trip, private keys refused."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from server.models import Client, ClientSecret
from tests.console.operator.test_import_export import HEADERS, confirm, csv_file, export, preview
from tests.oidc.test_private_key_jwt import public_jwks, rp_key

pytestmark = pytest.mark.django_db

KEY_HEADERS = [*HEADERS, "token_endpoint_auth_method", "jwks", "jwks_uri"]


def row(client_id, *, jwks="", jwks_uri=""):
    return [
        client_id,
        "Key app",
        "confidential",
        "",
        "client_credentials",
        "read",
        "private_key_jwt",
        jwks,
        jwks_uri,
    ]


def test_import_private_key_jwt_clients_without_secrets(ops):
    jwks = public_jwks(rp_key())
    upload = csv_file(
        [
            row("inline-keys", jwks=json.dumps(jwks)),
            row("keys-url", jwks_uri="https://keys.example.com/jwks"),
        ],
        headers=KEY_HEADERS,
    )
    response = preview(ops, upload)
    assert not response.context["result"].has_validation_errors(), response.context["result"].invalid_rows
    confirm(ops, response)
    inline, by_url = Client.objects.get(client_id="inline-keys"), Client.objects.get(client_id="keys-url")
    assert inline.jwks == jwks and by_url.jwks_uri == "https://keys.example.com/jwks"
    assert not ClientSecret.objects.exists()


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"jwks": json.dumps({"keys": [rp_key().as_dict(private=True)]})}, "private key members"),
        ({"jwks": "{broken"}, "not valid JSON"),
        ({}, "needs the client's public keys"),
        ({"jwks_uri": "https://10.0.0.1/jwks"}, "10.0.0.1"),
    ],
)
def test_bad_keys_are_row_errors(ops, cells, message):
    response = preview(ops, csv_file([row("bad", **cells)], headers=KEY_HEADERS))
    result = response.context["result"]
    assert result.has_validation_errors()
    text = " ".join(str(e) for invalid in result.invalid_rows for e in invalid.error_dict.values())
    assert message in text, text
    assert not Client.objects.exists()


def test_export_then_reimport_keeps_the_keys(ops, make_client):
    jwks = public_jwks(rp_key())
    original, _ = make_client("Keys", token_endpoint_auth_method="private_key_jwt", jwks=jwks)
    exported = export(ops, "csv")
    assert b"private_key_jwt" in exported
    Client.objects.all().delete()
    response = preview(ops, SimpleUploadedFile("clients.csv", exported, content_type="text/csv"))
    assert not response.context["result"].has_validation_errors(), response.context["result"].invalid_rows
    confirm(ops, response)
    assert Client.objects.get(client_id=original.client_id).jwks == jwks
