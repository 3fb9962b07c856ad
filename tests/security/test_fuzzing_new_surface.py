"""Hypothesis over the endpoints that landed after the first fuzzing round (docs/security.md, the
December attack review): OpenID Connect's parameters at the authorization endpoint on an
otherwise valid request by a signed-in person, the end-session endpoint, the device flow's
endpoint and page, UserInfo. For every input: never a 5xx, and never a redirect anywhere but a
registered URI or the sign-in page."""

from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import services
from server.actors import Actor
from tests.server.helpers import pkce_pair

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REDIRECT = "https://app.example.com/callback"
BYE = "https://app.example.com/logged-out"
OIDC_PARAMS = [
    "max_age",
    "prompt",
    "id_token_hint",
    "claims",
    "resource",
    "nonce",
    "acr_values",
    "login_hint",
    "ui_locales",
    "display",
    "request",
    "request_uri",
    "response_mode",
    "claims_locales",
    "registration",
]
LOGOUT_PARAMS = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "logout_hint",
    "ui_locales",
    "confirm_logout",
    "csrfmiddlewaretoken",
]
ODD = [
    "",
    " ",
    "0",
    "-1",
    "1e9",
    "99999999999999999999999",
    "NaN",
    "none",
    "login consent",
    "none login",
    "{}",
    "[]",
    "null",
    '{"userinfo": {"email": {"essential": "yes"}}}',
    '{"id_token": {"sub": {"value": 5}}}',
    '{"id_token": {"sub": {"value": "x"}}}',
    '{"userinfo": null, "id_token": []}',
    "a.b.c",
    "e30.e30.",
    "eyJhbGciOiJub25lIn0.e30.",
    "https://x.example/#f",
    "https://shop.example.com/",
    "\x00",
    "é",
    "%ZZ",
    "a" * 5000,
    BYE,
    BYE + "/",
    BYE.upper(),
    "https://evil.example/",
]


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    settings.OAUTH2_RATE_LIMIT_ENABLED = False


def values(extra=()):
    return st.one_of(st.sampled_from([*ODD, *extra]), st.text(max_size=30))


@pytest.fixture
def rp(make_client):
    client, secret = make_client(
        "Fuzz RP",
        scope=["openid", "profile", "email"],
        grant_types=["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
    )
    services.update_client(client, actor=Actor.system("t"), post_logout_redirect_uris=[BYE])
    return client, secret


def test_fuzz_openid_parameters_at_the_authorization_endpoint(rp, end_user):
    client, _ = rp
    http = HttpClient()
    http.force_login(end_user)
    _, challenge = pkce_pair()
    base = [
        ("response_type", "code"),
        ("client_id", client.client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile"),
        ("state", "s"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]

    @EXAMPLES
    @given(st.lists(st.tuples(st.sampled_from(OIDC_PARAMS), values()), max_size=5), st.booleans())
    def run(extra, by_post):
        query = urlencode(base + extra, errors="surrogatepass")
        if by_post:
            response = http.post("/oauth/authorize", dict(base + extra))
        else:
            response = http.get("/oauth/authorize?" + query)
        assert response.status_code in (200, 302, 303, 400), response.status_code
        if response.status_code == 302:
            assert response["Location"].startswith(("/accounts/login/", REDIRECT + "?")), response["Location"]
            assert "code=" not in response["Location"]

    run()


def test_fuzz_the_end_session_endpoint(rp, end_user):
    client, _ = rp
    signed_in = HttpClient()

    @EXAMPLES
    @given(
        st.lists(st.tuples(st.sampled_from(LOGOUT_PARAMS), values([client.client_id])), max_size=6),
        st.booleans(),
        st.booleans(),
    )
    def run(pairs, by_post, logged_in):
        if logged_in:
            signed_in.force_login(end_user)
        else:
            signed_in.logout()
        if by_post:
            response = signed_in.post("/oauth/logout", dict(pairs))
        else:
            response = signed_in.get("/oauth/logout?" + urlencode(pairs, errors="surrogatepass"))
        assert response.status_code in (200, 302, 400, 403), response.status_code
        if response.status_code == 302:
            assert response["Location"] == BYE or response["Location"].startswith(BYE + "?"), response[
                "Location"
            ]

    run()


def test_fuzz_the_device_flow(rp, end_user):
    client, _secret = rp
    page = HttpClient()
    page.force_login(end_user)
    machine = HttpClient()

    @EXAMPLES
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(
                    ["client_id", "scope", "resource", "user_code", "device_authorization", "confirm", "deny"]
                ),
                values([client.client_id, "openid profile"]),
            ),
            max_size=5,
        ),
        st.sampled_from(["endpoint", "page-get", "page-post", "userinfo"]),
    )
    def run(pairs, door):
        if door == "endpoint":
            response = machine.post(
                "/oauth/device_authorization",
                urlencode(pairs, errors="surrogatepass"),
                content_type="application/x-www-form-urlencoded",
            )
            assert response.status_code in (200, 400, 401), (response.status_code, response.content[:200])
        elif door == "page-get":
            response = page.get("/device?" + urlencode(pairs, errors="surrogatepass"))
            assert response.status_code in (200, 400), response.status_code
        elif door == "page-post":
            response = page.post("/device", dict(pairs))
            assert response.status_code in (200, 400, 403, 429), response.status_code
        else:
            response = machine.post(
                "/oauth/userinfo", dict(pairs), HTTP_AUTHORIZATION="Bearer " + (pairs[0][1] if pairs else "")
            )
            assert response.status_code in (400, 401, 403), response.status_code

    run()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=40)
    | st.sampled_from(
        ["https://h.example.com/", "client_created", "https://127.0.0.1/", "1", "client_credentials"]
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
API_FIELDS = [
    "name",
    "url",
    "event_types",
    "is_active",
    "grant_types",
    "scope",
    "redirect_uris",
    "client_type",
    "client_id",
    "reason",
    "owner",
    "token_endpoint_auth_method",
    "jwks",
    "jwks_uri",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "subject_type",
    "expires_in",
    "grace_seconds",
    "algs",
    "dry_run",
    "client",
]


def test_fuzz_the_operator_api_writes():
    """JSON bodies of every shape at the operator API's writes: a problem (4xx), never a 5xx."""
    from tests.console.api.conftest import ALL_SCOPES, api_with

    api = api_with(ALL_SCOPES)
    client = api.post("/api/v1/clients", {"name": "Target", "grant_types": ["client_credentials"]}).json()
    hook = api.post(
        "/api/v1/webhooks", {"name": "H", "url": "https://h.example.com/", "event_types": ["client_created"]}
    ).json()
    paths = [
        ("post", "/api/v1/clients"),
        ("patch", f"/api/v1/clients/{client['client_id']}"),
        ("put", "/api/v1/clients/fuzz-target"),
        ("post", f"/api/v1/clients/{client['client_id']}/disable"),
        ("post", f"/api/v1/clients/{client['client_id']}/secrets/rotate"),
        ("post", "/api/v1/tokens/revoke"),
        ("post", "/api/v1/webhooks"),
        ("patch", f"/api/v1/webhooks/{hook['id']}"),
        ("post", "/api/v1/signing-keys/rotate"),
        ("post", "/api/v1/initial-access-tokens"),
    ]

    @EXAMPLES
    @given(
        st.sampled_from(paths),
        st.one_of(st.dictionaries(st.sampled_from(API_FIELDS), JSON_VALUES, max_size=6), JSON_VALUES),
    )
    def run(target, body):
        method, path = target
        response = getattr(api, method)(path, body)
        assert response.status_code < 500, (method, path, body, response.status_code, response.content[:300])

    run()
