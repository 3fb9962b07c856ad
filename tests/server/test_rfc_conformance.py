"""Black-box RFC conformance findings of the rfc-conf review, each named by the clause it holds
the server to. Every test here failed before its fix (the commit messages say how).

- RFC 8414 §2: the `*_endpoint_auth_methods_supported` lists are exactly the methods each endpoint
  accepts (the revocation endpoint took public clients' `none` without advertising it).
- RFC 8628 §3.1, §3.4 with RFC 7523 §2.2: a client registered for `private_key_jwt` with the
  device grant can use the device flow (both doors refused every assertion).
- RFC 7591 §2 / RFC 7592 §2.2: the metadata a registration reads back can be put back (a client
  without the code grant was answered `response_types: ["code"]`, which its PUT then refused).
- RFC 6749 §3.3 (the browser-surface review): a scope token is printable ASCII, scopes are
  separated by spaces (no-break and other Unicode spaces split a scope into two).
"""

import pytest
from django.test import Client as HttpClient

from server.models import Client
from server.oauth2.device import DEVICE_CODE_GRANT_TYPE
from tests.oidc.test_private_key_jwt import assertion, assertion_fields, public_jwks, rp_key
from tests.server.device_helpers import decide, enter_code
from tests.server.helpers import basic_auth, form
from tests.server.test_registration import METADATA, REGISTER, make_iat, post_json, put_json  # noqa: F401

pytestmark = pytest.mark.django_db

METHODS = ("none", "client_secret_basic", "client_secret_post", "private_key_jwt")
# What a well-authenticated client is answered for a made-up token at each endpoint; a client
# the endpoint does not authenticate gets 401 invalid_client instead.
ENDPOINTS = {
    "token": ("/oauth/token", {"grant_type": "refresh_token", "refresh_token": "ort_made-up"}, 400),
    "revocation": ("/oauth/revoke", {"token": "oat_made-up"}, 200),
    "introspection": ("/oauth/introspect", {"token": "oat_made-up"}, 200),
}


@pytest.fixture
def client_with(make_client):
    """A client registered for `method` with `grant_types`; (client, how it authenticates)."""

    def make(method: str, grant_types: list[str], redirect_uris=None):
        redirect_uris = ["https://app.example.com/callback"] if redirect_uris is None else redirect_uris
        if method == "none":
            client, _ = make_client(
                "Public", client_type=Client.Type.PUBLIC, grant_types=grant_types, redirect_uris=redirect_uris
            )
            return client, lambda data: ({**data, "client_id": client.client_id}, {})
        if method == "private_key_jwt":
            key = rp_key()
            client, _ = make_client(
                "Keys",
                token_endpoint_auth_method="private_key_jwt",
                jwks=public_jwks(key),
                grant_types=grant_types,
                redirect_uris=redirect_uris,
            )
            return client, lambda data: ({**data, **assertion_fields(assertion(client.client_id, key))}, {})
        client, secret = make_client(
            method, token_endpoint_auth_method=method, grant_types=grant_types, redirect_uris=redirect_uris
        )
        if method == "client_secret_basic":
            return client, lambda data: (data, {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)})
        return client, lambda data: ({**data, "client_id": client.client_id, "client_secret": secret}, {})

    return make


def _call(path: str, data: dict, authenticate):
    body, headers = authenticate(data)
    return form(HttpClient(), path, body, **headers)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("method", METHODS)
def test_rfc8414_s2_each_endpoint_advertises_exactly_the_methods_it_accepts(client_with, endpoint, method):
    advertised = HttpClient().get("/.well-known/oauth-authorization-server").json()
    listed = method in advertised[f"{endpoint}_endpoint_auth_methods_supported"]
    path, data, answered = ENDPOINTS[endpoint]
    _client, authenticate = client_with(method, ["authorization_code", "refresh_token"])

    response = _call(path, data, authenticate)

    accepted = response.status_code == answered
    assert accepted or (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert accepted == listed, (endpoint, method, response.status_code, response.content)


@pytest.mark.parametrize("method", METHODS)
def test_rfc8628_s3_every_auth_method_of_the_token_endpoint_works_for_the_device_flow(
    client_with, method, end_user
):
    """RFC 8628 §3.1: the client authenticates at the device authorization endpoint as at the
    token endpoint (RFC 6749 §2.3, RFC 7523 §2.2); then it polls (§3.4) the same way."""
    _client, authenticate = client_with(method, [DEVICE_CODE_GRANT_TYPE], redirect_uris=[])
    started = _call("/oauth/device_authorization", {"scope": "profile"}, authenticate)
    assert started.status_code == 200, started.content
    answer = started.json()
    browser = HttpClient()
    browser.force_login(end_user)
    decide(browser, enter_code(browser, answer["user_code"]), allow=True)

    poll = {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": answer["device_code"]}
    token = _call("/oauth/token", poll, authenticate)

    assert token.status_code == 200, token.content
    assert token.json()["scope"] == "profile"


# --- RFC 7591 / RFC 7592: what is read back can be put back ---------------------------------------

# RFC 7592 §2.2: these are the server's, never sent in an update.
SERVER_ONLY = (
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
)
ALL_GRANTS = ["authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT_TYPE]


@pytest.mark.parametrize(
    "grant_types",
    [
        ["authorization_code", "refresh_token"],
        ["client_credentials"],
        [DEVICE_CODE_GRANT_TYPE, "refresh_token"],
    ],
)
@pytest.mark.parametrize("send_response_types", [True, False])
def test_rfc7592_s2_2_the_metadata_read_back_can_be_put_back(
    client,
    make_iat,  # noqa: F811 (the fixture of test_registration.py)
    grant_types,
    send_response_types,
):
    _row, iat = make_iat(allowed_grant_types=ALL_GRANTS)
    metadata = {**METADATA, "grant_types": grant_types}
    code_flow = "authorization_code" in grant_types
    if send_response_types:
        metadata["response_types"] = ["code"] if code_flow else []
    else:
        del metadata["response_types"]  # RFC 7591 §3.2.1: the server may supply suitable values
    registered = post_json(client, REGISTER, metadata, iat)
    assert registered.status_code == 201, registered.content
    body = registered.json()
    # RFC 7591 §2.1: the code response type goes with the code grant, and only with it.
    assert body["response_types"] == (["code"] if code_flow else [])
    uri, token = body["registration_client_uri"], body["registration_access_token"]

    read = client.get(uri, secure=True, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert read["response_types"] == body["response_types"]
    put_back = {key: value for key, value in read.items() if key not in SERVER_ONLY}
    updated = put_json(client, uri, put_back, token)

    assert updated.status_code == 200, updated.content
    assert updated.json()["response_types"] == body["response_types"]


# --- RFC 6749 §3.3: scope syntax (the browser-surface review) --------------------------------

# Scope tokens are printable ASCII but `"` and `\` (NQCHAR), separated by spaces (%x20). Python's
# str.split() also splits at these, so "profile<NBSP>email" was read as two scopes.
NOT_A_SEPARATOR = ["\u00a0", "\u3000", "\u2028", "\x85", "\u2003"]


@pytest.mark.parametrize("separator", NOT_A_SEPARATOR, ids=[hex(ord(c)) for c in NOT_A_SEPARATOR])
def test_rfc6749_s3_3_scope_tokens_are_ascii_separated_by_spaces(
    make_client, client_with, end_user, separator
):
    from tests.server.helpers import REDIRECT_URI, authorize_url, exchange_code, get_code, pkce_pair, query_of

    app, secret = make_client("Scopes", scope=["profile", "email"])
    auth = {"HTTP_AUTHORIZATION": basic_auth(app.client_id, secret)}
    scope = f"profile{separator}email"
    browser = HttpClient()
    browser.force_login(end_user)
    _, challenge = pkce_pair()
    response = browser.get(authorize_url(app.client_id, challenge, scope=scope))
    assert response.status_code == 302 and response["Location"].startswith(REDIRECT_URI + "?")
    assert query_of(response["Location"])["error"] == "invalid_scope"

    answer = form(HttpClient(), "/oauth/token", {"grant_type": "client_credentials", "scope": scope}, **auth)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")

    code, verifier = get_code(browser, app.client_id, scope="profile email")
    tokens = exchange_code(HttpClient(), app.client_id, secret, code, verifier).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": scope}
    answer = form(HttpClient(), "/oauth/token", refresh, **auth)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")

    _device, authenticate = client_with("client_secret_basic", [DEVICE_CODE_GRANT_TYPE])
    data, headers = authenticate({"scope": scope})
    answer = form(HttpClient(), "/oauth/device_authorization", data, **headers)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")
