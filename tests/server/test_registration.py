"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592), over HTTP."""

import base64
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from server import credentials, policies, services
from server.actors import Actor
from server.models import Client, InitialAccessToken

pytestmark = pytest.mark.django_db

REGISTER = "/oauth/register"
METADATA = {
    "client_name": "Registered app",
    "redirect_uris": ["https://registered.example.com/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "profile read",
    "client_uri": "https://registered.example.com/",
    "contacts": ["dev@registered.example.com"],
}


@pytest.fixture
def make_iat(operator):
    def make(**kwargs):
        kwargs.setdefault("allowed_scope", ["profile", "email", "read"])
        kwargs.setdefault(
            "allowed_grant_types", ["authorization_code", "refresh_token", "client_credentials"]
        )
        return services.create_initial_access_token(
            actor=Actor.operator(operator), created_by=operator, **kwargs
        )

    return make


def post_json(client, url, body, token=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", secure=True, **headers, **extra)


def put_json(client, url, body, token):
    return client.put(
        url,
        data=json.dumps(body),
        content_type="application/json",
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def assert_error(response, status, error):
    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    assert response["Cache-Control"] == "no-store"


def test_register_read_update_delete(client, make_iat):
    row, iat = make_iat(max_registrations=2)

    response = post_json(client, REGISTER, METADATA, iat)

    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    registered = Client.objects.get(client_id=body["client_id"])
    assert registered.source == Client.Source.DCR
    assert registered.status == Client.Status.ACTIVE
    assert registered.name == "Registered app"
    assert registered.scope_list == ["profile", "read"]
    assert registered.redirect_uri_list == METADATA["redirect_uris"]
    assert registered.contacts == METADATA["contacts"]
    assert registered.check_client_secret(body["client_secret"])
    assert body["client_secret"].startswith("ocs_")
    assert body["client_secret_expires_at"] == 0
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["registration_access_token"].startswith("org_")
    assert registered.registration_access_token_digest == credentials.digest(
        body["registration_access_token"]
    )
    assert body["registration_client_uri"] == f"https://testserver/oauth/register/{registered.client_id}"
    row.refresh_from_db()
    assert row.registrations == 1

    uri, rat = body["registration_client_uri"], body["registration_access_token"]
    read = client.get(uri, secure=True, HTTP_AUTHORIZATION=f"Bearer {rat}")
    assert read.status_code == 200, read.content
    assert read["Cache-Control"] == "no-store"
    info = read.json()
    assert info["client_id"] == registered.client_id
    assert info["redirect_uris"] == METADATA["redirect_uris"]
    assert info["scope"] == "profile read"
    assert info["registration_access_token"] == rat
    assert "client_secret" not in info  # stored only as a digest

    changed = {
        **METADATA,
        "client_id": registered.client_id,
        "client_name": "Renamed app",
        "redirect_uris": ["https://registered.example.com/new-callback", "http://127.0.0.1/cb"],
        "scope": "profile",
    }
    del changed["contacts"]
    update = put_json(client, uri, changed, rat)
    assert update.status_code == 200, update.content
    assert update.json()["client_name"] == "Renamed app"
    registered.refresh_from_db()
    assert registered.name == "Renamed app"
    assert registered.redirect_uri_list == changed["redirect_uris"]
    assert registered.scope == "profile"
    assert registered.contacts == []  # left out of a PUT: deleted (RFC 7592 §2.2)

    deleted = client.delete(uri, secure=True, HTTP_AUTHORIZATION=f"Bearer {rat}")
    assert deleted.status_code == 204
    assert not Client.objects.filter(client_id=registered.client_id).exists()
    gone = client.get(uri, secure=True, HTTP_AUTHORIZATION=f"Bearer {rat}")
    assert_error(gone, 401, "invalid_token")


def test_public_client_gets_no_secret(client, make_iat):
    _row, iat = make_iat()
    response = post_json(client, REGISTER, {**METADATA, "token_endpoint_auth_method": "none"}, iat)
    assert response.status_code == 201, response.content
    body = response.json()
    assert "client_secret" not in body
    assert Client.objects.get(client_id=body["client_id"]).client_type == Client.Type.PUBLIC


def test_scope_defaults_to_what_the_token_allows(client, make_iat):
    _row, iat = make_iat(allowed_scope=["email"])
    metadata = {k: v for k, v in METADATA.items() if k != "scope"}
    response = post_json(client, REGISTER, metadata, iat)
    assert response.status_code == 201, response.content
    assert Client.objects.get(client_id=response.json()["client_id"]).scope == "email"


@pytest.mark.parametrize("auto_approve, status", [(True, "active"), (False, "pending")])
def test_status_follows_the_auto_approve_setting(client, make_iat, settings, auto_approve, status):
    settings.OAUTH2_DCR_AUTO_APPROVE = auto_approve
    _row, iat = make_iat()
    response = post_json(client, REGISTER, METADATA, iat)
    assert response.status_code == 201
    assert Client.objects.get(client_id=response.json()["client_id"]).status == status


# --- the initial access token -----------------------------------------------------------------


def test_no_token_is_401_without_an_error_code_in_the_header(client, make_iat):
    response = post_json(client, REGISTER, METADATA)
    assert_error(response, 401, "invalid_token")
    assert response["WWW-Authenticate"] == 'Bearer realm="oauth-console"'
    assert not Client.objects.exists()


def test_unknown_token_is_401(client):
    response = post_json(client, REGISTER, METADATA, "oia_made-up")
    assert_error(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert not Client.objects.exists()


def test_expired_token_is_401(client, make_iat):
    _row, iat = make_iat(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(post_json(client, REGISTER, METADATA, iat), 401, "invalid_token")
    assert not Client.objects.exists()


def test_revoked_token_is_401(client, make_iat, operator):
    row, iat = make_iat()
    services.revoke_initial_access_tokens(
        InitialAccessToken.objects.filter(pk=row.pk), actor=Actor.operator(operator)
    )
    assert_error(post_json(client, REGISTER, METADATA, iat), 401, "invalid_token")


def test_used_up_token_is_401(client, make_iat):
    row, iat = make_iat(max_registrations=1)
    assert post_json(client, REGISTER, METADATA, iat).status_code == 201
    assert_error(post_json(client, REGISTER, METADATA, iat), 401, "invalid_token")
    assert Client.objects.count() == 1
    row.refresh_from_db()
    assert row.registrations == 1


def test_a_registration_that_lost_the_race_writes_nothing(make_iat):
    """Two registrations read the token as usable; the conditional UPDATE lets only one count."""
    row, _iat = make_iat(max_registrations=1)
    stale = InitialAccessToken.objects.get(pk=row.pk)
    services.register_dynamic_client(  # the other request wins
        initial_access_token=row,
        actor=Actor.system("tests"),
        name="Winner",
        redirect_uris=["https://winner.example.com/cb"],
    )
    with pytest.raises(policies.PolicyError) as caught:
        services.register_dynamic_client(
            initial_access_token=stale,
            actor=Actor.system("tests"),
            name="Loser",
            redirect_uris=["https://loser.example.com/cb"],
        )
    assert caught.value.code == "invalid_token"
    assert list(Client.objects.values_list("name", flat=True)) == ["Winner"]
    row.refresh_from_db()
    assert row.registrations == 1


def test_open_registration_needs_no_token_but_only_user_facing_grants(client, settings):
    settings.OAUTH2_OPEN_REGISTRATION = True
    response = post_json(client, REGISTER, METADATA)
    assert response.status_code == 201, response.content
    machine = {**METADATA, "grant_types": ["client_credentials"], "response_types": []}
    assert_error(post_json(client, REGISTER, machine), 400, "invalid_client_metadata")
    # A presented token must still be valid.
    assert_error(post_json(client, REGISTER, METADATA, "oia_made-up"), 401, "invalid_token")
    assert Client.objects.count() == 1


# --- bad metadata and bad requests ------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"redirect_uris": ["http://example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://example.com/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://*.example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://example.com/cb"}, "invalid_client_metadata"),
        ({"scope": "profile admin"}, "invalid_client_metadata"),
        ({"scope": "write"}, "invalid_client_metadata"),  # known, but not allowed by the token
        ({"grant_types": ["password"]}, "invalid_client_metadata"),
        ({"grant_types": ["authorization_code"], "response_types": ["token"]}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        (
            {
                "token_endpoint_auth_method": "none",
                "grant_types": ["client_credentials"],
                "response_types": [],
            },
            "invalid_client_metadata",
        ),
        ({"client_name": ["not", "a", "string"]}, "invalid_client_metadata"),
        ({"logo_uri": "not a url"}, "invalid_client_metadata"),
        ({"client_name": "x" * 101}, "invalid_client_metadata"),
    ],
)
def test_bad_metadata_is_refused_and_writes_nothing(client, make_iat, changes, error):
    row, iat = make_iat(allowed_grant_types=["authorization_code", "refresh_token"])
    response = post_json(client, REGISTER, {**METADATA, **changes}, iat)
    assert_error(response, 400, error)
    assert not Client.objects.exists()
    row.refresh_from_db()
    assert row.registrations == 0


def test_grant_type_beyond_the_token_is_refused(client, make_iat):
    _row, iat = make_iat(allowed_grant_types=["authorization_code"])
    assert_error(post_json(client, REGISTER, METADATA, iat), 400, "invalid_client_metadata")


@pytest.mark.parametrize(
    "body, content_type, error",
    [
        ("{not json", "application/json", "invalid_request"),
        (b"\xff\xfe", "application/json", "invalid_request"),
        ('["a", "list"]', "application/json", "invalid_client_metadata"),
        ("{}", "application/json", "invalid_request"),
        ("client_name=x", "application/x-www-form-urlencoded", "invalid_request"),
    ],
)
def test_bad_bodies_are_400(client, make_iat, body, content_type, error):
    _row, iat = make_iat()
    response = client.post(
        REGISTER, data=body, content_type=content_type, secure=True, HTTP_AUTHORIZATION=f"Bearer {iat}"
    )
    assert_error(response, 400, error)
    assert not Client.objects.exists()


def test_plain_http_is_refused_when_https_is_required(client, make_iat, settings):
    settings.OAUTH2_REQUIRE_HTTPS = True
    _row, iat = make_iat()
    response = client.post(
        REGISTER,
        data=json.dumps(METADATA),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {iat}",
    )
    assert_error(response, 400, "invalid_request")
    assert not Client.objects.exists()


def test_get_on_the_registration_endpoint_is_405(client):
    assert client.get(REGISTER, secure=True).status_code == 405


# --- RFC 7592 errors --------------------------------------------------------------------------


@pytest.fixture
def registered(client, make_iat):
    _row, iat = make_iat(max_registrations=5)

    def register(**changes):
        response = post_json(client, REGISTER, {**METADATA, **changes}, iat)
        assert response.status_code == 201, response.content
        return response.json()

    return register


def test_configuration_needs_the_clients_own_token(client, registered):
    first, second = registered(), registered()
    uri = first["registration_client_uri"]
    assert_error(client.get(uri, secure=True), 401, "invalid_token")
    wrong = client.get(uri, secure=True, HTTP_AUTHORIZATION=f"Bearer {second['registration_access_token']}")
    assert_error(wrong, 401, "invalid_token")
    deleted = client.delete(
        uri, secure=True, HTTP_AUTHORIZATION=f"Bearer {second['registration_access_token']}"
    )
    assert_error(deleted, 401, "invalid_token")
    assert Client.objects.filter(client_id=first["client_id"]).exists()


def test_operator_made_clients_have_no_configuration_endpoint(client, make_client):
    operator_client, _secret = make_client()
    response = client.get(
        f"/oauth/register/{operator_client.client_id}", secure=True, HTTP_AUTHORIZATION="Bearer "
    )
    assert_error(response, 401, "invalid_token")


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"client_id": None}, "invalid_request"),
        ({"client_id": "someone-else"}, "invalid_request"),
        ({"registration_access_token": "x"}, "invalid_request"),
        ({"client_secret": "ocs_wrong"}, "invalid_request"),
        ({"scope": "profile read email"}, "invalid_client_metadata"),  # widening
        (
            {"grant_types": ["authorization_code", "refresh_token", "client_credentials"]},
            "invalid_client_metadata",
        ),
        ({"token_endpoint_auth_method": "none"}, "invalid_client_metadata"),
        ({"redirect_uris": ["http://evil.example.com/cb"]}, "invalid_redirect_uri"),
    ],
)
def test_bad_updates_are_refused_and_change_nothing(client, registered, changes, error):
    body = registered()
    update = {**METADATA, "client_id": body["client_id"], **changes}
    update = {k: v for k, v in update.items() if v is not None}
    response = put_json(client, body["registration_client_uri"], update, body["registration_access_token"])
    assert_error(response, 400, error)
    stored = Client.objects.get(client_id=body["client_id"])
    assert stored.scope == "profile read"
    assert stored.redirect_uri_list == METADATA["redirect_uris"]


def test_update_with_the_right_secret_is_accepted(client, registered):
    body = registered()
    update = {
        **METADATA,
        "client_id": body["client_id"],
        "client_secret": body["client_secret"],
        "client_name": "New",
    }
    response = put_json(client, body["registration_client_uri"], update, body["registration_access_token"])
    assert response.status_code == 200, response.content
    assert Client.objects.get(client_id=body["client_id"]).name == "New"


# --- the registered client at the token endpoint ----------------------------------------------


def client_credentials_token(client, client_id, secret):
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post(
        "/oauth/token",
        urlencode({"grant_type": "client_credentials", "scope": "read"}),
        content_type="application/x-www-form-urlencoded",
        secure=True,
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


def test_a_registered_client_gets_a_token_until_it_is_deleted(client, make_iat):
    _row, iat = make_iat()
    machine = {**METADATA, "grant_types": ["client_credentials"], "response_types": [], "scope": "read"}
    body = post_json(client, REGISTER, machine, iat).json()

    issued = client_credentials_token(client, body["client_id"], body["client_secret"])
    assert issued.status_code == 200, issued.content
    assert issued.json()["access_token"]
    assert issued.json()["scope"] == "read"

    uri, rat = body["registration_client_uri"], body["registration_access_token"]
    assert client.delete(uri, secure=True, HTTP_AUTHORIZATION=f"Bearer {rat}").status_code == 204
    refused = client_credentials_token(client, body["client_id"], body["client_secret"])
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_a_pending_registered_client_gets_no_token(client, make_iat, settings):
    settings.OAUTH2_DCR_AUTO_APPROVE = False
    _row, iat = make_iat()
    machine = {**METADATA, "grant_types": ["client_credentials"], "response_types": [], "scope": "read"}
    body = post_json(client, REGISTER, machine, iat).json()
    refused = client_credentials_token(client, body["client_id"], body["client_secret"])
    # Not yet a client that may authenticate: invalid_client, and 401 since it used Basic (RFC 6749 §5.2).
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_server_metadata_lists_the_registration_endpoint(client):
    metadata = client.get("/.well-known/oauth-authorization-server", secure=True).json()
    assert metadata["registration_endpoint"].endswith("/oauth/register")
