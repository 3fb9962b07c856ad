"""RFC 8707 resource indicators at /oauth/authorize and /oauth/token, the audience stored with
codes and tokens, and the bearer check and introspection honouring it."""

import html
import re

import pytest
from django.test import Client as HttpClient

from server import services
from server.actors import Actor
from server.models import Api, AuthorizationCode, Token
from tests.server.helpers import form, pkce_pair, query_of
from tests.server.resource_helpers import (
    BILLING,
    DEFAULT,
    HIDDEN,
    OPERATOR,
    ORDERS,
    api_view,
    authorize_query,
    code_for,
    exchange,
    introspect,
    make_apis,
    token_request,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(make_client, end_user):
    client, secret = make_client()
    apis = make_apis(client)
    http = HttpClient()
    http.force_login(end_user)
    return client, secret, apis, http


def _error_of_redirect(response) -> dict:
    assert response.status_code == 302, response.content[:300]
    return query_of(response["Location"])


# --- §2.1 authorization request --------------------------------------------------------------


def test_a_code_for_one_resource_gives_a_token_only_that_api_accepts(app):
    client, secret, _apis, http = app
    code, verifier = code_for(http, client.client_id, scope="orders:read", resources=[ORDERS])
    assert AuthorizationCode.objects.get().audience == ORDERS
    answer = exchange(http, client.client_id, secret, code, verifier)
    assert answer.status_code == 200, answer.content
    access = answer.json()["access_token"]
    assert answer.json()["scope"] == "orders:read"
    assert Token.objects.get().audience == ORDERS

    assert api_view(ORDERS, "orders:read")(access).status_code == 200
    refused = api_view(BILLING)(access)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]
    me = http.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert me.status_code == 401 and me.json()["error"] == "invalid_token"


def test_several_resources_make_a_token_for_each_of_them(app):
    client, secret, _apis, http = app
    code, verifier = code_for(
        http, client.client_id, scope="orders:read billing:read", resources=[ORDERS, BILLING]
    )
    access = exchange(http, client.client_id, secret, code, verifier).json()["access_token"]
    assert Token.objects.get().audience.split() == [ORDERS, BILLING]
    assert api_view(ORDERS)(access).status_code == 200
    assert api_view(BILLING)(access).status_code == 200
    assert api_view(HIDDEN)(access).status_code == 401
    assert introspect(http, client.client_id, secret, access).json()["aud"] == [ORDERS, BILLING]


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        ("https://orders.example.com/#frag", "fragment"),
        ("orders.example.com/", "relative"),
        ("/orders", "relative"),
        ("https://unknown.example.com/", "unknown"),
        (HIDDEN, "not permitted"),
        ("https://orders.example.com/ x", "space"),
    ],
)
def test_a_bad_resource_is_invalid_target_redirected_with_state(app, resource, why):
    client, _secret, _apis, http = app
    _verifier, challenge = pkce_pair()
    response = http.get(authorize_query(client.client_id, challenge, scope="profile", resources=[resource]))
    params = _error_of_redirect(response)
    assert params["error"] == "invalid_target", why
    assert params["state"] == "xyz"
    assert not AuthorizationCode.objects.exists()


def test_one_bad_resource_among_good_ones_refuses_the_request(app):
    client, _secret, _apis, http = app
    _verifier, challenge = pkce_pair()
    url = authorize_query(client.client_id, challenge, scope="orders:read", resources=[ORDERS, HIDDEN])
    assert _error_of_redirect(http.get(url))["error"] == "invalid_target"


def test_too_many_resources_are_invalid_target(app):
    client, _secret, _apis, http = app
    _verifier, challenge = pkce_pair()
    many = [f"https://api{n}.example.com/" for n in range(11)]
    url = authorize_query(client.client_id, challenge, scope="profile", resources=many)
    assert _error_of_redirect(http.get(url))["error"] == "invalid_target"


def test_only_resource_may_repeat(app):
    client, _secret, _apis, http = app
    _verifier, challenge = pkce_pair()
    url = authorize_query(client.client_id, challenge, scope="profile", resources=[ORDERS]) + "&state=again"
    # Any other repeated parameter is invalid_request, sent to the verified redirect URI.
    error = _error_of_redirect(http.get(url))
    assert error["error"] == "invalid_request"
    assert "repeated" in error["error_description"]


def test_an_api_scope_needs_its_resource(app):
    client, _secret, _apis, http = app
    _verifier, challenge = pkce_pair()
    url = authorize_query(client.client_id, challenge, scope="orders:read")
    assert _error_of_redirect(http.get(url))["error"] == "invalid_scope"
    url = authorize_query(client.client_id, challenge, scope="billing:read", resources=[ORDERS])
    assert _error_of_redirect(http.get(url))["error"] == "invalid_scope"


def test_the_consent_page_groups_scopes_by_api(app):
    client, _secret, _apis, http = app
    _verifier, challenge = pkce_pair()
    url = authorize_query(
        client.client_id, challenge, scope="profile orders:read", resources=[ORDERS, DEFAULT]
    )
    page = http.get(url)
    assert page.status_code == 200
    groups = page.context["scope_groups"]
    assert [(g["name"], [s for s, _ in g["scopes"]]) for g in groups] == [
        ("Orders", ["orders:read"]),
        ("This server's API", ["profile"]),
    ]
    html = page.content.decode()
    assert "See your orders" in html and html.index("Orders") < html.index("See your user name")


@pytest.mark.parametrize(
    "resources, scope, headings",
    [
        ([ORDERS], "orders:read", ["Orders"]),  # one API named: the page says which
        ([ORDERS, DEFAULT], "profile orders:read", ["Orders", "This server's API"]),
        ([], "profile", []),  # this server alone reads as before: no heading
    ],
)
def test_the_consent_page_names_the_apis_only_when_the_request_names_one(app, resources, scope, headings):
    client, _secret, _apis, http = app
    _verifier, challenge = pkce_pair()
    page = http.get(authorize_query(client.client_id, challenge, scope=scope, resources=resources))
    assert page.status_code == 200
    named = re.findall(r'class="[^"]*\bapi-name\b[^"]*">([^<]*)<', page.content.decode())
    assert [html.unescape(name).strip() for name in named] == headings


# --- no resource: the default API, as before ---------------------------------------------------


def test_without_resource_the_token_is_for_this_servers_api(app):
    client, secret, _apis, http = app
    code, verifier = code_for(http, client.client_id, scope="profile")
    access = exchange(http, client.client_id, secret, code, verifier).json()["access_token"]
    assert Token.objects.get().audience == ""
    assert http.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200
    assert api_view(ORDERS)(access).status_code == 401
    assert introspect(http, client.client_id, secret, access).json()["aud"] == DEFAULT


def test_naming_the_default_api_is_the_same_as_naming_none(app):
    client, secret, _apis, http = app
    code, verifier = code_for(http, client.client_id, scope="profile", resources=[DEFAULT])
    access = exchange(http, client.client_id, secret, code, verifier).json()["access_token"]
    assert http.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200
    assert api_view(ORDERS)(access).status_code == 401


# --- §2.2 token request ------------------------------------------------------------------------


def test_the_token_request_narrows_to_one_resource_of_the_code(app):
    client, secret, _apis, http = app
    code, verifier = code_for(
        http, client.client_id, scope="orders:read billing:read", resources=[ORDERS, BILLING]
    )
    answer = exchange(http, client.client_id, secret, code, verifier, resources=[BILLING])
    assert answer.status_code == 200, answer.content
    access = answer.json()["access_token"]
    assert Token.objects.get().audience == BILLING
    assert api_view(BILLING)(access).status_code == 200
    assert api_view(ORDERS)(access).status_code == 401


@pytest.mark.parametrize(
    "resource", [HIDDEN, "https://unknown.example.com/", "https://orders.example.com/#x"]
)
def test_the_token_request_cannot_widen_the_code(app, resource):
    client, secret, _apis, http = app
    code, verifier = code_for(http, client.client_id, scope="orders:read", resources=[ORDERS])
    answer = exchange(http, client.client_id, secret, code, verifier, resources=[resource])
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_target"
    assert not Token.objects.exists()
    # Nothing was spent: the code still works for what it was granted.
    assert exchange(http, client.client_id, secret, code, verifier).status_code == 200


def test_a_refresh_narrows_to_one_resource_and_never_widens(app):
    client, secret, _apis, http = app
    code, verifier = code_for(
        http, client.client_id, scope="orders:read billing:read", resources=[ORDERS, BILLING]
    )
    refresh = exchange(http, client.client_id, secret, code, verifier).json()["refresh_token"]
    answer = token_request(
        http, client.client_id, secret, {"grant_type": "refresh_token", "refresh_token": refresh}, [ORDERS]
    )
    assert answer.status_code == 200, answer.content
    narrowed = answer.json()
    assert api_view(ORDERS)(narrowed["access_token"]).status_code == 200
    assert api_view(BILLING)(narrowed["access_token"]).status_code == 401

    widened = token_request(
        http,
        client.client_id,
        secret,
        {"grant_type": "refresh_token", "refresh_token": narrowed["refresh_token"]},
        [BILLING],
    )
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_target"
    # The refused refresh spent nothing: without a resource it keeps the narrowed audience.
    again = token_request(
        http,
        client.client_id,
        secret,
        {"grant_type": "refresh_token", "refresh_token": narrowed["refresh_token"]},
    )
    assert again.status_code == 200
    assert (
        Token.objects.get(access_token_digest__isnull=False, pk=Token.objects.latest("pk").pk).audience
        == ORDERS
    )


def test_a_refresh_of_a_token_for_this_server_cannot_reach_another_api(app):
    client, secret, _apis, http = app
    code, verifier = code_for(http, client.client_id, scope="profile")
    refresh = exchange(http, client.client_id, secret, code, verifier).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": refresh}
    answer = token_request(http, client.client_id, secret, data, [ORDERS])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_target"
    kept = token_request(http, client.client_id, secret, data, [DEFAULT])
    assert kept.status_code == 200, kept.content


def test_client_credentials_with_a_resource_gets_its_audience_and_lifetime(make_client):
    client, secret = make_client()
    apis = make_apis(client)
    services.change_api(apis["orders"], actor=OPERATOR, access_token_lifetime=120)
    http = HttpClient()
    answer = token_request(
        http,
        client.client_id,
        secret,
        {"grant_type": "client_credentials", "scope": "orders:write"},
        [ORDERS],
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["expires_in"] == 120
    token = Token.objects.get()
    assert token.audience == ORDERS and (token.expires_at - token.issued_at).total_seconds() == 120
    assert api_view(ORDERS, "orders:write")(answer.json()["access_token"]).status_code == 200

    refused = token_request(http, client.client_id, secret, {"grant_type": "client_credentials"}, [HIDDEN])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"


def test_a_token_for_several_apis_lives_as_long_as_the_shortest_allows(make_client):
    client, secret = make_client()
    make_apis(client, orders_lifetime=60)
    answer = token_request(
        HttpClient(),
        client.client_id,
        secret,
        {"grant_type": "client_credentials", "scope": "read"},
        [ORDERS, BILLING],
    )
    assert answer.json()["expires_in"] == 60


def test_a_client_removed_from_an_api_cannot_refresh_into_it(app):
    client, secret, apis, http = app
    code, verifier = code_for(http, client.client_id, scope="orders:read", resources=[ORDERS])
    refresh = exchange(http, client.client_id, secret, code, verifier).json()["refresh_token"]
    services.change_api(apis["orders"], actor=OPERATOR, allowed_clients=[])
    answer = token_request(
        http, client.client_id, secret, {"grant_type": "refresh_token", "refresh_token": refresh}
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_target"


def test_deleting_an_api_revokes_its_tokens_only(app):
    client, secret, apis, http = app
    for_orders = token_request(
        http, client.client_id, secret, {"grant_type": "client_credentials", "scope": "read"}, [ORDERS]
    )
    for_server = token_request(
        http, client.client_id, secret, {"grant_type": "client_credentials", "scope": "read"}
    )
    assert services.delete_api(apis["orders"], actor=OPERATOR) == 1
    assert introspect(http, client.client_id, secret, for_orders.json()["access_token"]).json() == {
        "active": False
    }
    assert (
        introspect(http, client.client_id, secret, for_server.json()["access_token"]).json()["active"] is True
    )


def test_a_resource_over_its_length_limit_is_invalid_request(app):
    client, secret, _apis, http = app
    answer = token_request(
        http,
        client.client_id,
        secret,
        {"grant_type": "client_credentials"},
        ["https://a.example/" + "x" * 3000],
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_introspection_reports_every_audience(app):
    client, secret, _apis, http = app
    answer = token_request(
        http, client.client_id, secret, {"grant_type": "client_credentials", "scope": "read"}, [ORDERS]
    )
    body = introspect(http, client.client_id, secret, answer.json()["access_token"]).json()
    assert body["active"] is True and body["aud"] == ORDERS


def test_form_helper_is_unchanged_for_clients_without_resources(app):
    client, secret, _apis, http = app
    from tests.server.helpers import basic_auth

    answer = form(
        http,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert answer.status_code == 200 and Token.objects.get().audience == ""


def test_a_remembered_consent_never_covers_another_api(app):
    client, _secret, _apis, http = app
    code_for(http, client.client_id, scope="profile orders:read", resources=[ORDERS, DEFAULT])
    _verifier, challenge = pkce_pair()
    # This server's scopes alone: remembered, answered at once.
    assert http.get(authorize_query(client.client_id, challenge, scope="profile")).status_code == 302
    # Another API: the page again (two APIs may define one scope name).
    again = http.get(authorize_query(client.client_id, challenge, scope="orders:read", resources=[ORDERS]))
    assert again.status_code == 200 and b'name="confirm"' in again.content
    silent = http.get(
        authorize_query(client.client_id, challenge, scope="orders:read", resources=[ORDERS], prompt="none")
    )
    assert _error_of_redirect(silent)["error"] == "consent_required"


def test_the_default_apis_identifier_cannot_name_another_api(settings):
    """The default API is issuer + /api; another API under that identifier would take its tokens."""
    from server.policy_rules import PolicyError

    settings.OAUTH2_ISSUER = "https://auth.example.com"
    for taken in ("https://auth.example.com/api", "https://auth.example.com/api/"):
        with pytest.raises(PolicyError, match="this server's own API"):
            services.create_api(actor=Actor.system("tests"), identifier=taken, name="Shadow")
    assert not Api.objects.filter(name="Shadow").exists()
