"""RFC 9728: the protected resource metadata of this server's own API, the `resource_metadata`
of its challenges (/api/me and the operator API), and a ResourceProtector guarding another API."""

import json

import pytest
from django.http import JsonResponse
from django.test import RequestFactory

from server.bindings.bearer import OurResourceProtector, TokenValidator
from server.oauth2 import ResourceProtector
from server.oauth2.resource_metadata import metadata_path_for, metadata_url_for

pytestmark = pytest.mark.django_db

METADATA = "/.well-known/oauth-protected-resource/api"


def test_the_document_names_the_resource_its_servers_scopes_and_methods(client):
    response = client.get(METADATA)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    # §3.3: `resource` is the identifier the URL was formed from.
    assert body["resource"] == "http://testserver/api"
    assert body["authorization_servers"] == ["http://testserver"]
    assert body["scopes_supported"] == ["openid", "profile", "email", "address", "phone", "read", "write"]
    assert body["bearer_methods_supported"] == ["header"]
    assert body["resource_name"] == "This server's API"


def test_the_document_follows_the_issuer(client, settings):
    settings.OAUTH2_ISSUER = "https://auth.example.com"
    body = client.get(METADATA).json()
    assert body["resource"] == "https://auth.example.com/api"
    assert body["authorization_servers"] == ["https://auth.example.com"]


def test_its_authorization_server_metadata_still_answers(client):
    # RFC 9728 §2's authorization_servers lead to RFC 8414's document.
    issuer = client.get(METADATA).json()["authorization_servers"][0]
    body = client.get("/.well-known/oauth-authorization-server").json()
    assert body["issuer"] == issuer and body["token_endpoint"] == issuer + "/oauth/token"


def test_only_get_reads_the_document(client):
    assert client.post(METADATA).status_code == 405


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/api/me", {}), ("/api/me", {"HTTP_AUTHORIZATION": "Bearer not-a-token"}), ("/api/v1/clients", {})],
)
def test_every_challenge_of_our_api_names_its_metadata(client, path, headers):
    response = client.get(path, **headers)
    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="http://testserver{METADATA}"' in challenge


def test_insufficient_scope_names_it_too(client, make_client):
    from tests.server.helpers import basic_auth, form

    app, secret = make_client()
    token = form(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    ).json()["access_token"]
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert "resource_metadata=" in response["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("identifier", "path", "url"),
    [
        ("https://api.example.com", "/.well-known/oauth-protected-resource", None),
        ("https://api.example.com/", "/.well-known/oauth-protected-resource", None),
        (
            "https://api.example.com/v1/orders",
            "/.well-known/oauth-protected-resource/v1/orders",
            "https://api.example.com/.well-known/oauth-protected-resource/v1/orders",
        ),
        (
            "https://api.example.com:8443/x",
            "/.well-known/oauth-protected-resource/x",
            "https://api.example.com:8443/.well-known/oauth-protected-resource/x",
        ),
    ],
)
def test_the_well_known_url_is_inserted_before_the_path(identifier, path, url):
    # §3.1: the well-known suffix goes between the host and the path.
    assert metadata_path_for(identifier) == path
    if url:
        assert metadata_url_for(identifier) == url


def test_a_protector_for_another_api_publishes_its_document_and_challenges():
    protector = OurResourceProtector(
        resource="https://orders.example.com/v1",
        authorization_servers=["https://auth.example.com"],
        scopes_supported=["orders:read"],
        resource_name="Orders",
    )
    protector.register_token_validator(TokenValidator())
    assert protector.metadata_path == "/.well-known/oauth-protected-resource/v1"
    document = protector.metadata_view(RequestFactory().get(protector.metadata_path))
    assert document.status_code == 200
    assert json.loads(document.content) == {
        "resource": "https://orders.example.com/v1",
        "authorization_servers": ["https://auth.example.com"],
        "scopes_supported": ["orders:read"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Orders",
    }

    @protector("orders:read")
    def view(request):
        return JsonResponse({})

    response = view(RequestFactory().get("/v1/orders"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="testserver", '
        'resource_metadata="https://orders.example.com/.well-known/oauth-protected-resource/v1"'
    )


def test_a_protector_without_a_resource_behaves_as_the_spec_says():
    protector = ResourceProtector()
    assert protector.resource_identifier(None) is None
    assert protector.resource_metadata_url(None) is None
    with pytest.raises(Exception, match="names no resource"):
        protector.metadata_path  # noqa: B018


@pytest.mark.parametrize(
    "bad", ['https://x.example/"', "https://x.example/#f", "ftp://x.example/", "x.example"]
)
def test_a_misconfigured_resource_fails_at_start_up(bad):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        ResourceProtector(resource=bad)
