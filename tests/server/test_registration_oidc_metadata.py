"""OpenID Connect registration metadata (OIDC Registration §2, RP-Initiated Logout §3.1) through
RFC 7591 and RFC 7592: stored, answered, refused with a clear error and nothing written."""

import pytest

from server import services
from server.actors import Actor
from server.models import Client
from tests.server.test_registration import METADATA, REGISTER, assert_error, post_json, put_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_iat(operator):
    def make():
        return services.create_initial_access_token(
            actor=Actor.operator(operator),
            created_by=operator,
            allowed_scope=["profile", "email", "read"],
            allowed_grant_types=["authorization_code", "refresh_token"],
        )

    return make


OIDC = {
    "id_token_signed_response_alg": "ES256",
    "subject_type": "public",
    "default_max_age": 900,
    "require_auth_time": True,
    "post_logout_redirect_uris": ["https://registered.example.com/bye", "http://127.0.0.1:8765/bye"],
    "backchannel_logout_uri": "https://registered.example.com/backchannel?tenant=1",
    "backchannel_logout_session_required": True,
}


def register(client, make_iat, **metadata):
    _row, iat = make_iat()
    return post_json(client, REGISTER, {**METADATA, **metadata}, iat)


def test_registered_metadata_is_stored_and_answered(client, make_iat):
    response = register(client, make_iat, **OIDC)
    assert response.status_code == 201, response.content
    body = response.json()
    for name, value in OIDC.items():
        assert body[name] == value, name
    stored = Client.objects.get(client_id=body["client_id"])
    assert stored.id_token_signed_response_alg == "ES256"
    assert (stored.default_max_age, stored.require_auth_time, stored.subject_type) == (900, True, "public")
    assert stored.post_logout_redirect_uris.split() == OIDC["post_logout_redirect_uris"]
    assert stored.backchannel_logout_uri == OIDC["backchannel_logout_uri"]
    assert stored.backchannel_logout_session_required is True

    read = client.get(
        body["registration_client_uri"],
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {body['registration_access_token']}",
    )
    assert {name: read.json().get(name) for name in OIDC} == OIDC


def test_left_out_the_defaults_apply_and_are_answered(client, make_iat):
    body = register(client, make_iat).json()
    assert body["id_token_signed_response_alg"] == "RS256"
    assert body["subject_type"] == "public" and body["require_auth_time"] is False
    assert "default_max_age" not in body and "post_logout_redirect_uris" not in body
    assert "backchannel_logout_uri" not in body


@pytest.mark.parametrize(
    "metadata, says",
    [
        ({"subject_type": "secret"}, "use public or pairwise"),
        (
            {"subject_type": "pairwise", "redirect_uris": ["https://a.example/cb", "https://b.example/cb"]},
            "one host",
        ),
        ({"subject_type": "pairwise", "redirect_uris": ["http://127.0.0.1/cb"]}, "loopback"),
        # Fetched through the SSRF guard (tests/oidc/test_sector_identifier_uri.py for the rest).
        ({"sector_identifier_uri": "https://10.0.0.8/sector.json"}, "could not be read: The address"),
        ({"sector_identifier_uri": "http://rp.example.com/sector.json"}, "Use an https"),
        ({"sector_identifier_uri": ["https://rp.example.com/s.json"]}, "must be a string"),
        ({"userinfo_signed_response_alg": "none"}, "unsigned JWTs are never issued"),
        ({"userinfo_signed_response_alg": "HS256"}, "RS256 or ES256"),
        ({"token_endpoint_auth_signing_alg": "HS256"}, "never HMAC"),
        ({"token_endpoint_auth_signing_alg": "none"}, "token_endpoint_auth_signing_alg"),
        ({"id_token_signed_response_alg": "none"}, "unsigned ID tokens are never issued"),
        ({"id_token_signed_response_alg": "HS256"}, "RS256 or ES256"),
        ({"id_token_signed_response_alg": 256}, "must be a string"),
        ({"default_max_age": -1}, "whole number of seconds"),
        ({"default_max_age": 1.5}, "whole number of seconds"),
        ({"default_max_age": True}, "whole number of seconds"),
        ({"default_max_age": "600"}, "whole number of seconds"),
        ({"default_max_age": 2**31}, "whole number of seconds"),
        ({"require_auth_time": "yes"}, "true or false"),
        ({"require_auth_time": 1}, "true or false"),
        ({"post_logout_redirect_uris": "https://a.example/bye"}, "array of strings"),
        ({"post_logout_redirect_uris": [1]}, "array of strings"),
        ({"post_logout_redirect_uris": ["javascript:alert(1)"]}, "post_logout_redirect_uris"),
        ({"post_logout_redirect_uris": ["http://evil.example.com/"]}, "plain http"),
        ({"post_logout_redirect_uris": ["https://a.example/bye#x"]}, "fragment"),
        ({"backchannel_logout_uri": "http://rp.example.com/bcl"}, "use https"),
        ({"backchannel_logout_uri": "http://127.0.0.1:9000/bcl"}, "use an https:// URL"),
        ({"backchannel_logout_uri": "com.example.app:/bcl"}, "use an https:// URL"),
        ({"backchannel_logout_uri": "javascript:alert(1)"}, "backchannel_logout_uri: "),
        ({"backchannel_logout_uri": "https://rp.example.com/bcl#frag"}, "fragment"),
        ({"backchannel_logout_uri": "https://user:pw@rp.example.com/bcl"}, "user information"),
        ({"backchannel_logout_uri": "https://rp.example.com/" + "a" * 600}, "too long"),
        ({"backchannel_logout_uri": ["https://rp.example.com/bcl"]}, "must be a string"),
        ({"backchannel_logout_session_required": "yes"}, "true or false"),
    ],
)
def test_refused_metadata_is_a_clear_invalid_client_metadata_and_writes_nothing(
    client, make_iat, metadata, says
):
    before = Client.objects.count()
    response = register(client, make_iat, **metadata)
    assert_error(response, 400, "invalid_client_metadata")
    assert says in response.json()["error_description"]
    assert Client.objects.count() == before


def test_an_update_changes_the_metadata_and_a_refused_one_changes_nothing(client, make_iat):
    body = register(client, make_iat, **OIDC).json()
    uri, token = body["registration_client_uri"], body["registration_access_token"]
    update = {**METADATA, "client_id": body["client_id"], "default_max_age": 60}
    response = put_json(client, uri, update, token)
    assert response.status_code == 200, response.content
    stored = Client.objects.get(client_id=body["client_id"])
    # A PUT replaces the metadata (RFC 7592 §2.2): what it leaves out goes back to the default.
    assert (stored.default_max_age, stored.id_token_signed_response_alg) == (60, "RS256")
    assert (stored.require_auth_time, stored.post_logout_redirect_uris) == (False, "")

    refused = put_json(client, uri, {**update, "subject_type": "secret", "default_max_age": 5}, token)
    assert_error(refused, 400, "invalid_client_metadata")
    assert Client.objects.get(client_id=body["client_id"]).default_max_age == 60


def test_a_loopback_backchannel_uri_is_for_development_only(client, make_iat, settings):
    """http to a loopback address is accepted with DEBUG on (an RP on the developer's machine);
    the SSRF guard still refuses loopback at delivery unless OAUTH2_OUTBOUND_ALLOWED_NETWORKS."""
    settings.DEBUG = True
    response = register(client, make_iat, backchannel_logout_uri="http://127.0.0.1:9000/bcl")
    assert response.status_code == 201, response.content
    assert response.json()["backchannel_logout_uri"] == "http://127.0.0.1:9000/bcl"


def test_pairwise_and_signing_metadata_are_stored_and_answered(client, make_iat):
    response = register(
        client,
        make_iat,
        subject_type="pairwise",
        userinfo_signed_response_alg="RS256",
        token_endpoint_auth_signing_alg="ES256",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["subject_type"] == "pairwise"
    assert (body["userinfo_signed_response_alg"], body["token_endpoint_auth_signing_alg"]) == (
        "RS256",
        "ES256",
    )
    stored = Client.objects.get(client_id=body["client_id"])
    assert stored.sector_identifier == "registered.example.com"
    read = client.get(
        body["registration_client_uri"],
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {body['registration_access_token']}",
    ).json()
    assert read["subject_type"] == "pairwise" and read["userinfo_signed_response_alg"] == "RS256"
