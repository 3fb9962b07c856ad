"""Client-supplied URIs and names: one policy at every door, and inert wherever they are shown.

The reproduction (issue 11, item 2): `client_uri="javascript://example.com/%0aalert(document.domain)"`
was accepted by dynamic registration, the RFC 7592 PUT and the admin import, and /account/apps/
rendered it as a link. Every door must refuse it, and a row that already holds it must render inert.
"""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from server import policies, services
from server.actors import Actor
from server.models import Client
from tests.server.helpers import register_with_token

pytestmark = pytest.mark.django_db

XSS = "javascript://example.com/%0aalert(document.domain)"
# Each refused for a different reason; every one of them is accepted by authlib's own checks
# or by Django's URLField, which is why a policy of ours must refuse them.
HOSTILE_WEB_URIS = [
    pytest.param(XSS, id="javascript"),
    pytest.param("JaVaScRiPt://example.com/%0aalert(1)", id="javascript-mixed-case"),
    pytest.param("data://example.com/text/html,<script>alert(1)</script>", id="data"),
    pytest.param("http://example.com/", id="plain-http"),
    pytest.param("http://127.0.0.1/", id="plain-http-loopback"),
    pytest.param("https://user:secret@example.com/", id="credentials"),
    pytest.param("https://example.com@evil.example/", id="userinfo"),
    pytest.param("https://example.com/a\u202eb", id="bidi-override"),
    pytest.param("https://example.com/\x00", id="nul"),
    pytest.param("https://example.com/ x", id="space"),
    pytest.param("https:\\\\evil.example/", id="backslash"),
    pytest.param("//evil.example/", id="scheme-relative"),
    pytest.param("https://example.com/" + "a" * 2000, id="too-long"),
    # Refused at registration by authlib's claims, so by the one policy at every other door too.
    pytest.param("https://app.example.com/about#top", id="fragment"),
]
HOSTILE_NAMES = [
    pytest.param("Good\u202eelgooG", id="bidi-override"),
    pytest.param("Two\nlines", id="newline"),
    pytest.param("Nul\x00byte", id="nul"),
    pytest.param("Zero\u200bwidth", id="zero-width"),
    pytest.param("x" * 101, id="too-long"),
    pytest.param("   ", id="blank"),
]


def good_settings(**overrides) -> dict:
    settings = {
        "redirect_uris": ["https://app.example.com/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": ["profile"],
    }
    settings.update(overrides)
    return settings


# --- the policy itself ----------------------------------------------------------------------


@pytest.mark.parametrize("uri", HOSTILE_WEB_URIS)
def test_the_policy_refuses_hostile_web_uris(uri):
    with pytest.raises(policies.PolicyError) as refused:
        policies.validate_web_uri(uri, field="client_uri")
    assert refused.value.field == "client_uri"
    assert policies.displayable_web_uri(uri) == ""


@pytest.mark.parametrize(
    "uri",
    ["https://app.example.com/", "https://app.example.com:8443/about?x=1", "https://münchen.example/"],
)
def test_the_policy_accepts_ordinary_https_uris(uri):
    assert policies.validate_web_uri(uri, field="client_uri") == uri
    assert policies.displayable_web_uri(uri) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "com.example.app://user:pw@callback/",
        "https://app.example.com/cb\u202e",
        "http://user@127.0.0.1/cb",
        "javascript://example.com/%0aalert(1)",
    ],
)
def test_redirect_uris_refuse_credentials_and_invisible_characters(uri):
    with pytest.raises(policies.PolicyError):
        policies.validate_redirect_uri(uri)


@pytest.mark.parametrize(
    "uri",
    ["https://app.example.com/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "com.example.app:/cb"],
)
def test_redirect_uris_the_rfcs_allow_still_pass(uri):
    assert policies.validate_redirect_uri(uri) == uri


# --- services: the one write path -----------------------------------------------------------


@pytest.mark.parametrize("field", ["client_uri", "logo_uri"])
@pytest.mark.parametrize("uri", HOSTILE_WEB_URIS)
def test_create_client_refuses_hostile_uris(field, uri):
    with pytest.raises(policies.PolicyError) as refused:
        services.create_client(name="App", actor=Actor.system("tests"), **good_settings(), **{field: uri})
    assert refused.value.field == field
    assert not Client.objects.exists()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_create_and_update_refuse_hostile_names(make_client, name):
    with pytest.raises(policies.PolicyError) as refused:
        services.create_client(name=name, actor=Actor.system("tests"), **good_settings())
    assert refused.value.field == "name"
    client, _ = make_client("Kept")
    with pytest.raises(policies.PolicyError):
        services.update_client(client, actor=Actor.system("tests"), name=name)
    client.refresh_from_db()
    assert client.name == "Kept"


@pytest.mark.parametrize("field", ["client_uri", "logo_uri"])
def test_update_client_refuses_hostile_uris(make_client, field):
    client, _ = make_client("App", client_uri="https://app.example.com/")
    with pytest.raises(policies.PolicyError) as refused:
        services.update_client(client, actor=Actor.system("tests"), **{field: XSS})
    assert refused.value.field == field
    client.refresh_from_db()
    assert client.client_uri == "https://app.example.com/" and client.logo_uri == ""


# --- RFC 7591 registration and RFC 7592 update ----------------------------------------------


METADATA = {
    "client_name": "Registered app",
    "redirect_uris": ["https://registered.example.com/callback"],
    "scope": "profile",
    "client_uri": "https://registered.example.com/",
}


@pytest.mark.parametrize("field", ["client_uri", "logo_uri", "policy_uri", "tos_uri"])
@pytest.mark.parametrize("uri", HOSTILE_WEB_URIS[:7])
def test_registration_refuses_hostile_web_uris(client, initial_access_token, field, uri):
    response = register_with_token(client, {**METADATA, field: uri}, initial_access_token)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_client_metadata"
    assert field in response.json()["error_description"]
    assert not Client.objects.exists()


@pytest.mark.parametrize(
    "uri", ["https://user:pw@registered.example.com/cb", "https://registered.example.com/cb\u202e"]
)
def test_registration_refuses_hostile_redirect_uris(client, initial_access_token, uri):
    response = register_with_token(client, {**METADATA, "redirect_uris": [uri]}, initial_access_token)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_redirect_uri"
    assert not Client.objects.exists()


@pytest.mark.parametrize("name", HOSTILE_NAMES[:4])
def test_registration_refuses_hostile_names(client, initial_access_token, name):
    response = register_with_token(client, {**METADATA, "client_name": name}, initial_access_token)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_client_metadata"
    assert response.json()["error_description"].startswith("client_name: ")
    assert not Client.objects.exists()


def test_configuration_put_refuses_a_hostile_client_uri(client, initial_access_token):
    created = register_with_token(client, METADATA, initial_access_token).json()
    body = {**METADATA, "client_id": created["client_id"], "client_uri": XSS, "logo_uri": XSS}
    response = client.put(
        created["registration_client_uri"].removeprefix("https://testserver"),
        data=json.dumps(body),
        content_type="application/json",
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {created['registration_access_token']}",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_client_metadata"
    stored = Client.objects.get(client_id=created["client_id"])
    assert stored.client_uri == "https://registered.example.com/"
    assert stored.logo_uri == ""


# --- the admin: add form, change form, import ------------------------------------------------


@pytest.fixture
def ops(operator) -> HttpClient:
    http = HttpClient()
    http.force_login(operator)
    return http


def admin_form(**overrides) -> dict:
    data = {
        "name": "Billing app",
        "client_type": "confidential",
        "owner": "",
        "description": "",
        "redirect_uris": "https://billing.example.com/callback",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": ["profile"],
        "token_endpoint_auth_method": "",
        "client_uri": "",
        "logo_uri": "",
        "contacts": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "field, value",
    [
        ("client_uri", "http://billing.example.com/"),
        ("client_uri", "https://user:secret@billing.example.com/"),
        ("logo_uri", "https://billing.example.com@evil.example/logo.png"),
        ("name", "Billing\u202eppa"),
    ],
)
def test_admin_add_form_refuses_hostile_values(ops, field, value):
    response = ops.post(reverse("admin:server_client_add"), admin_form(**{field: value}))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Client.objects.exists()


def test_admin_change_form_refuses_a_hostile_client_uri(ops, make_client):
    client, _ = make_client("Billing app", client_uri="https://billing.example.com/")
    data = admin_form(
        client_uri="https://user:secret@billing.example.com/",
        **{
            "secrets-TOTAL_FORMS": "0",
            "secrets-INITIAL_FORMS": "0",
            "secrets-MIN_NUM_FORMS": "0",
            "secrets-MAX_NUM_FORMS": "0",
        },
    )
    data.pop("client_type")
    data.pop("owner")
    response = ops.post(reverse("admin:server_client_change", args=[client.pk]), data)
    assert response.status_code == 200
    assert "client_uri" in response.context["adminform"].form.errors
    client.refresh_from_db()
    assert client.client_uri == "https://billing.example.com/"


@pytest.mark.parametrize("field", ["client_uri", "logo_uri"])
def test_import_reports_a_hostile_uri_as_a_row_error(ops, field):
    headers = ["client_id", "name", "client_type", "redirect_uris", "grant_types", "scope", field]
    rows = [
        ["good", "Good", "confidential", "https://a.example.com/cb", "authorization_code", "profile", ""],
        ["evil", "Evil", "confidential", "https://a.example.com/cb", "authorization_code", "profile", XSS],
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    upload = SimpleUploadedFile("clients.csv", buffer.getvalue().encode(), content_type="text/csv")

    response = ops.post(
        reverse("admin:server_client_import"), {"import_file": upload, "format": "0", "resource": "0"}
    )

    assert response.status_code == 200
    result = response.context["result"]
    assert [row.number for row in result.invalid_rows] == [2]
    assert "https" in " ".join(result.invalid_rows[0].error_dict[field])
    assert response.context.get("confirm_form") is None
    assert not Client.objects.exists()


# --- the developer portal --------------------------------------------------------------------


@pytest.fixture
def developer(django_user_model):
    return django_user_model.objects.create_user("dana", "dana@example.com", "dana-password-123")


@pytest.fixture
def dev(developer) -> HttpClient:
    http = HttpClient()
    http.force_login(developer)
    return http


PORTAL_FORM = {
    "name": "Weather widget",
    "description": "",
    "client_uri": "https://weather.example.com",
    "logo_uri": "",
    "redirect_uris": "https://weather.example.com/callback",
    "client_type": "confidential",
    "grant_types": ["authorization_code"],
    "scope": ["profile"],
}


@pytest.mark.parametrize(
    "field, value",
    [
        ("client_uri", "http://localhost:8000/"),
        ("client_uri", "https://user:secret@weather.example.com/"),
        ("logo_uri", "https://weather.example.com@evil.example/logo.png"),
        ("name", "Weather\u202etegdiw"),
        ("redirect_uris", "https://user:pw@weather.example.com/callback"),
    ],
)
def test_portal_register_and_edit_refuse_hostile_values(dev, developer, field, value):
    response = dev.post("/developers/apps/new/", {**PORTAL_FORM, field: value})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Client.objects.exists()

    client, _ = services.create_client(
        name="Mine", owner=developer, actor=Actor.developer(developer), **good_settings()
    )
    response = dev.post(f"/developers/apps/{client.client_id}/edit/", {**PORTAL_FORM, field: value})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    client.refresh_from_db()
    assert client.name == "Mine" and client.client_uri == ""


# --- rendering: a stored hostile value stays inert --------------------------------------------


def _store_behind_the_policys_back(client: Client, **fields) -> None:
    # Rows written before the policy existed (or by hand in SQL) are what this guards against.
    Client.objects.filter(pk=client.pk).update(**fields)


def test_account_apps_renders_stored_hostile_uris_inert(client, end_user, make_client):
    evil, _ = make_client("Evil app")
    good, _ = make_client(
        "Good app", client_uri="https://good.example.com/", logo_uri="https://cdn.example/l.png"
    )
    _store_behind_the_policys_back(evil, client_uri=XSS, logo_uri="https://tracker.example.net/pixel.png")
    services.record_consent(user=end_user, client=evil, scope="profile")
    services.record_consent(user=end_user, client=good, scope="profile")
    client.force_login(end_user)

    body = client.get("/account/apps/").content.decode()

    assert "javascript:" not in body.lower()
    assert 'href="javascript' not in body.lower()
    # No third-party image is loaded on our page, not even a valid one.
    assert "tracker.example.net" not in body
    assert "cdn.example" not in body
    assert "<img" not in body
    assert 'class="client-avatar client-avatar-sm"' in body
    # A URL that passes the policy is still a link, one that tells the browser not to trust it.
    assert 'href="https://good.example.com/" rel="noopener noreferrer nofollow"' in body


def test_portal_detail_renders_stored_hostile_uris_inert(client, make_client, django_user_model):
    developer = django_user_model.objects.create_user("dana", "dana@example.com", "dana-password-123")
    evil, _ = make_client("Evil app", owner=developer)
    _store_behind_the_policys_back(evil, client_uri=XSS, logo_uri="https://tracker.example.net/pixel.png")
    client.force_login(developer)

    response = client.get(f"/developers/apps/{evil.client_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="javascript' not in body.lower()
    assert "tracker.example.net" not in body
    assert "<img" not in body
    assert 'class="client-avatar client-avatar-sm"' in body
