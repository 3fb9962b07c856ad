"""APIs (resource servers) in the admin: add, change, delete through the services, the default
API's fixed fields, JSON export and all-or-nothing import, and their audit events."""

import io
import json

import pytest
from django.test import Client as HttpClient

from oauth_console.audit.models import AuditEvent
from server import services
from server.actors import Actor
from server.models import Api

pytestmark = pytest.mark.django_db

LIST = "/admin/server/api/"


@pytest.fixture
def admin_http(django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw-123456")
    http = HttpClient()
    http.force_login(user)
    return http


def _add(http, **fields):
    data = {
        "identifier": "https://orders.example.com/",
        "name": "Orders",
        "scopes_text": "orders:read: See your orders\norders:write: Place orders",
        "token_format": "opaque",
        "access_token_lifetime": "",
        **fields,
    }
    return http.post(LIST + "add/", data)


def test_the_default_api_is_listed_and_cannot_be_deleted(admin_http):
    page = admin_http.get(LIST)
    assert page.status_code == 200 and b"This server&#x27;s API" in page.content
    default = Api.objects.get(is_default=True)
    assert admin_http.get(f"{LIST}{default.pk}/delete/").status_code == 403
    form = admin_http.get(f"{LIST}{default.pk}/change/")
    assert form.status_code == 200 and b'name="identifier"' not in form.content
    # Its token format is a setting (OAUTH2_ACCESS_TOKEN_FORMAT), shown, not edited here.
    assert b'name="token_format"' not in form.content and b"OAUTH2_ACCESS_TOKEN_FORMAT" in form.content
    changed = admin_http.post(f"{LIST}{default.pk}/change/", {"name": "Our API", "token_format": "jwt"})
    assert changed.status_code == 302
    default.refresh_from_db()
    assert (default.name, default.token_format, default.identifier) == ("Our API", "opaque", "")


def test_an_api_is_added_changed_and_deleted_with_its_events(admin_http, make_client):
    client, _secret = make_client()
    response = _add(admin_http, allowed_clients=[client.pk], access_token_lifetime="300")
    assert response.status_code == 302, response.content[:2000]
    api = Api.objects.get(identifier="https://orders.example.com/")
    assert api.scopes == {"orders:read": "See your orders", "orders:write": "Place orders"}
    assert api.access_token_lifetime == 300 and list(api.allowed_clients.all()) == [client]

    response = admin_http.post(
        f"{LIST}{api.pk}/change/",
        {
            "identifier": api.identifier,
            "name": "Orders v2",
            "scopes_text": "orders:read: See your orders",
            "token_format": "jwt",
            "access_token_lifetime": "300",
        },
    )
    assert response.status_code == 302
    api.refresh_from_db()
    assert (api.name, api.token_format, list(api.allowed_clients.all())) == ("Orders v2", "jwt", [])

    assert admin_http.post(f"{LIST}{api.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Api.objects.filter(pk=api.pk).exists()
    kinds = list(
        AuditEvent.objects.filter(event_type__startswith="api_")
        .order_by("id")
        .values_list("event_type", flat=True)
    )
    assert kinds == ["api_created", "api_changed", "api_deleted"]
    changed = AuditEvent.objects.get(event_type="api_changed")
    assert changed.detail["changes"]["name"] == ["Orders", "Orders v2"]
    assert changed.detail["changes"]["allowed_clients"][1] == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"identifier": "https://orders.example.com/#x"}, b"fragment"),
        ({"identifier": "http://orders.example.com/"}, b"https://"),
        ({"identifier": "orders"}, b"https://"),
        ({"identifier": "https://orders.example.com/?v=1"}, b"query"),
        ({"name": "Orders\u202e"}, b"invisible"),
        ({"scopes_text": 'bad"scope: x'}, b"scope name"),
        ({"access_token_lifetime": "0"}, b"lifetime is 1 to"),
    ],
)
def test_a_bad_value_is_a_form_error_and_nothing_is_written(admin_http, fields, message):
    response = _add(admin_http, **fields)
    assert response.status_code == 200
    assert message in response.content
    assert not Api.objects.filter(is_default=False).exists()
    assert not AuditEvent.objects.filter(event_type="api_created").exists()


def test_an_identifier_already_taken_is_refused(admin_http):
    assert _add(admin_http).status_code == 302
    response = _add(admin_http, name="Other")
    assert response.status_code == 200 and Api.objects.filter(is_default=False).count() == 1


def test_export_then_import_recreates_the_apis(admin_http, make_client):
    client, _secret = make_client()
    services.create_api(
        actor=Actor.system("tests"),
        identifier="https://orders.example.com/",
        name="Orders",
        scopes={"orders:read": "See your orders"},
        allowed_clients=[client.client_id],
        access_token_lifetime=120,
    )
    ids = [str(pk) for pk in Api.objects.values_list("pk", flat=True)]
    exported = admin_http.post(LIST, {"action": "export_json", "_selected_action": ids})
    assert exported.status_code == 200 and exported["Content-Type"] == "application/json"
    rows = json.loads(exported.content)
    assert {row["name"] for row in rows} == {"Orders", "This server's API"}
    Api.objects.filter(is_default=False).delete()

    upload = io.BytesIO(exported.content)
    upload.name = "apis.json"
    response = admin_http.post(LIST + "import/", {"file": upload})
    assert response.status_code == 302, response.content[:2000]
    api = Api.objects.get(is_default=False)
    assert (api.identifier, api.scopes, api.access_token_lifetime) == (
        "https://orders.example.com/",
        {"orders:read": "See your orders"},
        120,
    )
    assert list(api.allowed_clients.values_list("client_id", flat=True)) == [client.client_id]
    assert Api.objects.filter(is_default=True).count() == 1


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"identifier": "x"}',
        b"\xff\xfe",
        json.dumps(
            [
                {"identifier": "https://a.example/", "name": "A"},
                {"identifier": "https://b.example/#f", "name": "B"},
            ]
        ).encode(),
        json.dumps(
            [{"identifier": "https://a.example/", "name": "A", "allowed_clients": ["nobody"]}]
        ).encode(),
        json.dumps([{"identifier": "https://a.example/", "name": "A", "scopes": ["a"]}]).encode(),
        json.dumps([{"identifier": "https://a.example/", "name": "A", "password": "x"}]).encode(),
        json.dumps(
            [{"identifier": "https://a.example/", "name": "A", "access_token_lifetime": "60"}]
        ).encode(),
    ],
)
def test_a_bad_import_writes_nothing_and_says_why(admin_http, content):
    upload = io.BytesIO(content)
    upload.name = "apis.json"
    response = admin_http.post(LIST + "import/", {"file": upload})
    assert response.status_code == 400
    assert b"Nothing was imported" in response.content
    assert not Api.objects.filter(is_default=False).exists()


def test_resource_servers_are_set_in_the_admin_and_public_clients_are_not_offered(admin_http, make_client):
    from server.models import Client

    server, _secret = make_client("Orders RS")
    public, _ = make_client("SPA", client_type=Client.Type.PUBLIC)
    page = admin_http.get(LIST + "add/")
    assert b'name="resource_servers"' in page.content
    assert f'value="{server.pk}"'.encode() in page.content.split(b'name="resource_servers"')[1]
    refused = _add(admin_http, resource_servers=[public.pk])
    assert refused.status_code == 200 and not Api.objects.filter(identifier="https://orders.example.com/")
    response = _add(admin_http, resource_servers=[server.pk])
    assert response.status_code == 302, response.content[:2000]
    api = Api.objects.get(identifier="https://orders.example.com/")
    assert list(api.resource_servers.all()) == [server]
    change = AuditEvent.objects.filter(event_type="api_created").count()
    assert change == 1


def test_saving_an_api_in_the_admin_keeps_allow_any_client(admin_http):
    # The field was in the form but not in the page's fieldset, so every save turned it off.
    api = services.create_api(
        actor=Actor.system("tests"),
        identifier="https://agents.example.com/",
        name="Agents",
        allow_any_client=True,
    )
    page = admin_http.get(f"{LIST}{api.pk}/change/")
    assert b'name="allow_any_client"' in page.content
    response = admin_http.post(
        f"{LIST}{api.pk}/change/",
        {
            "identifier": api.identifier,
            "name": "Agents v2",
            "scopes_text": "",
            "token_format": "opaque",
            "access_token_lifetime": "",
            "allow_any_client": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    api.refresh_from_db()
    assert api.name == "Agents v2" and api.allow_any_client is True
