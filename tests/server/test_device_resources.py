"""RFC 8707 `resource` in the device flow (RFC 8628): validated at /oauth/device_authorization as
at /oauth/authorize, stored with the device authorization, grouped on the consent page, and the
token's audience, lifetime, format and scope resolved from it as a code exchange does."""

from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient

from server import services
from server.models import Api, DeviceAuthorization, Token
from tests.server.device_helpers import DEVICE_GRANTS, client_auth, decide, enter_code
from tests.server.helpers import basic_auth, form
from tests.server.resource_helpers import BILLING, DEFAULT, HIDDEN, OPERATOR, ORDERS, api_view, make_apis

pytestmark = pytest.mark.django_db


@pytest.fixture
def tv(make_client):
    app = make_client("Living-room TV", redirect_uris=[], grant_types=DEVICE_GRANTS)
    apis = make_apis(app[0], orders_lifetime=120)
    return app, apis


@pytest.fixture
def browser(end_user):
    http = HttpClient()
    http.force_login(end_user)
    return http


def _post(http, app, path, data, resources=()):
    auth = client_auth(app)
    body = urlencode([*{**auth["data"], **data}.items(), *(("resource", value) for value in resources)])
    return http.post(path, body, content_type="application/x-www-form-urlencoded", **auth["headers"])


def start(http, app, resources=(), **data):
    return _post(http, app, "/oauth/device_authorization", data, resources)


def poll(http, app, device_code, resources=()):
    data = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device_code}
    return _post(http, app, "/oauth/token", data, resources)


def approved(http, browser, app, *, scope, resources):
    """Start a device authorization naming `resources`, approve it; its device code."""
    answer = start(http, app, resources, scope=scope)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    page = enter_code(browser, body["user_code"])
    assert page.status_code == 200
    assert decide(browser, page, allow=True).status_code == 200
    return body["device_code"], page


# --- the device authorization request (RFC 8628 §3.1 with RFC 8707 §2.1) ----------------------


def test_the_named_resources_are_stored_with_the_device_authorization(tv):
    app, _ = tv
    answer = start(HttpClient(), app, [ORDERS, BILLING], scope="profile orders:read billing:read")
    assert answer.status_code == 200, answer.content
    row = DeviceAuthorization.objects.get()
    assert row.audience.split() == [ORDERS, BILLING]
    assert row.scope == "profile orders:read billing:read"


@pytest.mark.parametrize(
    "resource",
    [HIDDEN, "https://unknown.example.com/", "orders", "https://orders.example.com/#x"],
    ids=["not-permitted", "unknown", "relative", "fragment"],
)
def test_an_unknown_unpermitted_or_malformed_resource_is_invalid_target(tv, resource):
    app, _ = tv
    answer = start(HttpClient(), app, [resource], scope="profile")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == "invalid_target"
    assert not DeviceAuthorization.objects.exists()


def test_too_many_resources_are_invalid_target(tv):
    app, _ = tv
    many = [f"https://api{n}.example.com/" for n in range(11)]
    answer = start(HttpClient(), app, many, scope="profile")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_target"


def test_an_api_scope_needs_its_resource(tv):
    app, _ = tv
    answer = start(HttpClient(), app, [], scope="orders:read")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"
    assert start(HttpClient(), app, [ORDERS], scope="orders:read").status_code == 200


def test_the_consent_page_groups_the_scopes_by_api(tv, browser):
    app, _ = tv
    body = start(HttpClient(), app, [ORDERS], scope="profile orders:read").json()
    text = enter_code(browser, body["user_code"]).content.decode()
    assert "Orders" in text and "See your orders" in text
    assert text.index("Orders") < text.index("See your orders")
    assert "This server" in text or "this server" in text.lower()


# --- the token (RFC 8628 §3.4 with RFC 8707 §2.2) ---------------------------------------------


def test_a_device_token_for_api_a_is_refused_by_api_b(tv, browser, make_client):
    app, _ = tv
    http = HttpClient()
    code, _page = approved(http, browser, app, scope="orders:read", resources=[ORDERS])
    answer = poll(http, app, code)
    assert answer.status_code == 200, answer.content
    token = answer.json()
    assert token["scope"] == "orders:read"
    assert token["expires_in"] == 120  # the Orders API's own lifetime
    assert Token.objects.get().audience == ORDERS
    assert api_view(ORDERS)(token["access_token"]).status_code == 200
    for other in (BILLING, DEFAULT):
        refused = api_view(other)(token["access_token"])
        assert refused.status_code == 401 and "invalid_token" in refused["WWW-Authenticate"]
    # Introspection by each API's resource server: only Orders' sees it.
    servers = {}
    for identifier in (ORDERS, BILLING):
        server, secret = make_client(f"RS {identifier}", grant_types=["client_credentials"])
        services.change_api(
            Api.objects.get(identifier=identifier), actor=OPERATOR, resource_servers=[server.client_id]
        )
        servers[identifier] = (server, secret)

    def introspect(identifier):
        server, secret = servers[identifier]
        auth = basic_auth(server.client_id, secret)
        return form(
            http, "/oauth/introspect", {"token": token["access_token"]}, HTTP_AUTHORIZATION=auth
        ).json()

    assert introspect(ORDERS)["active"] is True and introspect(ORDERS)["aud"] == ORDERS
    assert introspect(BILLING) == {"active": False}


def test_a_device_token_without_resource_is_for_this_server(tv, browser):
    app, _ = tv
    http = HttpClient()
    code, _page = approved(http, browser, app, scope="profile", resources=[])
    token = poll(http, app, code).json()
    assert Token.objects.get().audience == ""
    assert http.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}").status_code == 200
    assert api_view(ORDERS)(token["access_token"]).status_code == 401


def test_the_token_request_narrows_to_one_resource(tv, browser):
    app, _ = tv
    http = HttpClient()
    code, _page = approved(http, browser, app, scope="orders:read billing:read", resources=[ORDERS, BILLING])
    answer = poll(http, app, code, resources=[BILLING])
    assert answer.status_code == 200, answer.content
    assert answer.json()["scope"] == "billing:read"
    assert Token.objects.get().audience == BILLING
    assert answer.json()["expires_in"] != 120  # not the Orders API's lifetime


@pytest.mark.parametrize("resource", [HIDDEN, DEFAULT, "https://unknown.example.com/"])
def test_the_token_request_cannot_widen_and_the_code_is_not_spent(tv, browser, resource):
    app, _ = tv
    http = HttpClient()
    code, _page = approved(http, browser, app, scope="orders:read", resources=[ORDERS])
    refused = poll(http, app, code, resources=[resource])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"
    assert not Token.objects.exists()
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.Status.APPROVED
    assert poll(http, app, code).status_code == 200


def test_a_client_removed_from_the_api_after_approval_gets_no_token(tv, browser):
    app, apis = tv
    http = HttpClient()
    code, _page = approved(http, browser, app, scope="orders:read", resources=[ORDERS])
    services.change_api(apis["orders"], actor=OPERATOR, allowed_clients=[])
    refused = poll(http, app, code)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"
    assert not Token.objects.exists()


def test_a_jwt_api_gets_a_jwt_from_the_device_flow(tv, browser, settings):
    import jwt as pyjwt

    app, apis = tv
    settings.OAUTH2_ISSUER = "https://auth.example.com"
    services.change_api(apis["billing"], actor=OPERATOR, token_format="jwt")
    http = HttpClient()
    code, _page = approved(http, browser, app, scope="billing:read", resources=[BILLING])
    answer = poll(http, app, code)
    assert answer.status_code == 200, answer.content
    claims = pyjwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == BILLING and claims["scope"] == "billing:read"


@pytest.mark.django_db(transaction=True)  # audit events are written with their fact, on commit
def test_the_audit_events_name_the_apis_the_device_asked_for(tv, browser):
    from oauth_console.audit.models import AuditEvent

    app, _ = tv
    http = HttpClient()
    approved(http, browser, app, scope="orders:read", resources=[ORDERS])
    approved(http, browser, app, scope="profile", resources=[])
    requested = AuditEvent.objects.filter(event_type="device_authorization_requested").order_by("id")
    assert [event.detail.get("audience") for event in requested] == [[ORDERS], None]
    approvals = AuditEvent.objects.filter(event_type="device_authorization_approved").order_by("id")
    assert [event.detail.get("audience") for event in approvals] == [[ORDERS], None]
