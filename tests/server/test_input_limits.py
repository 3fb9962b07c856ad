"""Input the database could not store, or that no parser should follow, is refused up front.

Every stored or echoed protocol parameter has a length limit checked before anything is written
(SQLite does not enforce varchar lengths, so these tests check the answer, not the database's
refusal); JSON bodies have a nesting limit; bodies over DATA_UPLOAD_MAX_MEMORY_SIZE get the RFC's
JSON error, never Django's HTML page.
"""

import json

import pytest
from django.test import Client as HttpClient

from server.bindings import authorization_server
from server.models import AuthorizationCode, Client, Token
from tests.server.helpers import REDIRECT_URI, authorize_url, basic_auth, form, pkce_pair, query_of

pytestmark = pytest.mark.django_db

OVER_THE_LIMIT = 3 * 1024 * 1024  # above DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)


@pytest.fixture
def confidential(make_client):
    return make_client("Confidential app")


@pytest.fixture
def browser(end_user):
    http = HttpClient(raise_request_exception=False)
    http.force_login(end_user)
    return http


def assert_json_error(response, status, error):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert body["error"] == error
    return body["error_description"]


# --- the authorization endpoint -----------------------------------------------------------------


def test_every_stored_column_has_a_parameter_limit_no_longer_than_the_column():
    limits = authorization_server.parameter_limits
    assert limits["nonce"] <= AuthorizationCode._meta.get_field("nonce").max_length
    assert limits["code_challenge"] <= AuthorizationCode._meta.get_field("code_challenge").max_length
    assert limits["client_id"] <= Client._meta.get_field("client_id").max_length
    for name in ("state", "scope", "redirect_uri"):
        assert 0 < limits[name] <= 4096


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_over_long_nonce_is_redirected_as_invalid_request(browser, confidential, method):
    app, _secret = confidential
    _verifier, challenge = pkce_pair()
    limit = authorization_server.parameter_limits["nonce"]
    url = authorize_url(app.client_id, challenge, nonce="n" * (limit + 1))
    response = browser.get(url) if method == "get" else browser.post(url, {"confirm": "yes"})
    # RFC 6749 §4.1.2.1: the client and redirect URI are valid, so the error goes back to it.
    assert response.status_code == 302, response.content[:300]
    assert response["Location"].startswith(REDIRECT_URI)
    params = query_of(response["Location"])
    assert params["error"] == "invalid_request"
    assert "nonce" in params["error_description"] and str(limit) in params["error_description"]
    assert params["state"] == "xyz"
    assert "code" not in params
    assert AuthorizationCode.objects.count() == 0


def test_a_nonce_at_the_limit_is_stored(browser, confidential):
    app, _secret = confidential
    _verifier, challenge = pkce_pair()
    nonce = "n" * authorization_server.parameter_limits["nonce"]
    response = browser.post(authorize_url(app.client_id, challenge, nonce=nonce), {"confirm": "yes"})
    assert response.status_code == 302
    assert "code" in query_of(response["Location"])
    assert AuthorizationCode.objects.get().nonce == nonce


def test_an_over_long_state_is_refused_without_echoing_it(browser, confidential):
    app, _secret = confidential
    _verifier, challenge = pkce_pair()
    state = "s" * (authorization_server.parameter_limits["state"] + 1)
    response = browser.get(authorize_url(app.client_id, challenge, state=state))
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert params["error"] == "invalid_request" and "state" in params["error_description"]
    assert "state" not in params
    assert len(response["Location"]) < 1000


def test_an_over_long_scope_is_refused(browser, confidential):
    app, _secret = confidential
    _verifier, challenge = pkce_pair()
    scope = " ".join(["profile"] * 2000)
    response = browser.get(authorize_url(app.client_id, challenge, scope=scope))
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert params["error"] == "invalid_request" and "scope" in params["error_description"]
    assert AuthorizationCode.objects.count() == 0


def test_an_over_long_client_id_is_shown_not_redirected(browser):
    _verifier, challenge = pkce_pair()
    response = browser.get(authorize_url("c" * 5000, challenge))
    assert response.status_code == 400
    assert "Location" not in response
    assert "client_id" in response.content.decode()


# --- the token endpoint ---------------------------------------------------------------------------


def test_an_over_long_scope_at_the_token_endpoint_is_invalid_request(confidential):
    app, secret = confidential
    response = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": " ".join(["read"] * 5000)},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    description = assert_json_error(response, 400, "invalid_request")
    assert "scope" in description
    assert Token.objects.count() == 0


# --- bodies: size and JSON nesting ----------------------------------------------------------------


@pytest.fixture
def iat(operator):
    from server import services
    from server.actors import Actor

    _row, value = services.create_initial_access_token(
        actor=Actor.operator(operator), allowed_scope=["profile"], max_registrations=5
    )
    return value


@pytest.fixture
def registered(iat):
    metadata = {"client_name": "Registered", "redirect_uris": ["https://registered.example.com/cb"]}
    response = HttpClient().post(
        "/oauth/register",
        json.dumps(metadata),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {iat}",
    )
    assert response.status_code == 201, response.content
    return response.json()


def json_call(method, path, body, token):
    http = HttpClient(raise_request_exception=False)
    return http.generic(
        method, path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="deep-array"),
        pytest.param('{"a":' * 50_000 + "1" + "}" * 50_000, id="deep-object"),
        pytest.param('{"jwks": ' + "[" * 200 + "]" * 200 + "}", id="deep-under-the-recursion-limit"),
    ],
)
def test_deeply_nested_json_is_a_json_400(iat, registered, body):
    before = Client.objects.count()
    response = json_call("POST", "/oauth/register", body, iat)
    assert "nested" in assert_json_error(response, 400, "invalid_request")
    path = "/oauth/register/" + registered["client_id"]
    response = json_call("PUT", path, body, registered["registration_access_token"])
    assert "nested" in assert_json_error(response, 400, "invalid_request")
    assert Client.objects.count() == before


def test_metadata_nested_as_deep_as_a_jwks_is_still_accepted(iat):
    # The shape of a JWK set ({"keys": [{"key_ops": [...]}]}) under an extension field.
    metadata = {
        "client_name": "With keys",
        "redirect_uris": ["https://keys.example.com/cb"],
        "x_extension": {"keys": [{"kty": "RSA", "kid": "1", "key_ops": ["verify"]}]},
    }
    response = json_call("POST", "/oauth/register", json.dumps(metadata), iat)
    assert response.status_code == 201, response.content


def test_a_body_over_the_size_limit_is_a_json_error_at_registration_and_update(iat, registered):
    body = json.dumps({"client_name": "x" * OVER_THE_LIMIT})
    response = json_call("POST", "/oauth/register", body, iat)
    assert "too large" in assert_json_error(response, 400, "invalid_request")
    path = "/oauth/register/" + registered["client_id"]
    response = json_call("PUT", path, body, registered["registration_access_token"])
    assert "too large" in assert_json_error(response, 400, "invalid_request")


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_a_body_over_the_size_limit_is_a_json_error_at_form_endpoints(confidential, path):
    app, secret = confidential
    response = HttpClient(raise_request_exception=False).post(
        path,
        "token=x&padding=" + "a" * OVER_THE_LIMIT,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert "too large" in assert_json_error(response, 400, "invalid_request")


def test_a_too_large_body_read_by_a_view_is_still_a_json_error(rf):
    """The guard of every protocol endpoint turns Django's RequestDataTooBig (an HTML 400 by
    default) into the RFC's JSON, whichever code touched the body first."""
    from server.views import protocol_endpoint

    @protocol_endpoint
    def reads_the_body(request):
        return request.body

    request = rf.post("/oauth/token", "a" * OVER_THE_LIMIT, content_type="application/octet-stream")
    response = reads_the_body(request)
    assert "too large" in assert_json_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "contacts",
    [
        pytest.param([f"dev{i}@example.com" for i in range(50_000)], id="fifty-thousand"),
        pytest.param(["x" * 10_000 + "@example.com"], id="one-huge"),
    ],
)
def test_registration_bounds_the_contacts_it_stores_and_echoes(iat, contacts):
    metadata = {"client_name": "Many", "redirect_uris": ["https://many.example.com/cb"], "contacts": contacts}
    response = json_call("POST", "/oauth/register", json.dumps(metadata), iat)
    assert "contacts" in assert_json_error(response, 400, "invalid_client_metadata")
    assert not Client.objects.filter(name="Many").exists()


def test_an_unrecognized_long_parameter_at_the_token_endpoint_is_ignored(confidential):
    # RFC 6749 §3.2: unrecognized parameters are ignored, whatever their length.
    app, secret = confidential
    response = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "state": "s" * 10_000},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 200, response.content
