"""Property tests (Hypothesis) over every protocol endpoint and dynamic registration: random and
repeated parameters, odd encodings and content types, header junk, empty and huge bodies.

For every input: never a 5xx; every error is JSON with an `error` from the RFCs' vocabulary; and
nothing is written (no client, secret, code, token or consent row), unless the input happened to
be a valid request, which only registration with a real initial access token can be here.
"""

import base64
import json
from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import services
from server.actors import Actor
from server.models import AuthorizationCode, Client, ClientSecret, Consent, InitialAccessToken, Token

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1, RFC 7591 §3.2.2, RFC 8628 §3.5
# (slow_down, which the rate limiter answers with).
RFC_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_response_type",
    "server_error",
    "temporarily_unavailable",
    "invalid_token",
    "insufficient_scope",
    "unsupported_token_type",
    "invalid_redirect_uri",
    "invalid_client_metadata",
    "invalid_software_statement",
    "unapproved_software_statement",
    "slow_down",
}
PARAM_NAMES = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "client_id",
    "client_secret",
    "refresh_token",
    "scope",
    "token",
    "token_type_hint",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "access_token",
    "username",
    "password",
    "assertion",
    "audience",
    "resource",
    "nonce",
    "prompt",
    "request",
    "request_uri",
]
GRANT_TYPES = [
    "authorization_code",
    "refresh_token",
    "password",
    "implicit",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "token",
    "",
]
WRITTEN = (Client, ClientSecret, AuthorizationCode, Token, Consent, InitialAccessToken)


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    # Hypothesis sends hundreds of requests from one address; limits are tested elsewhere.
    settings.OAUTH2_RATE_LIMIT_ENABLED = False


@pytest.fixture
def known(make_client):
    """A confidential and a public client, so fuzzed requests can get past authentication."""
    confidential, secret = make_client("Fuzz confidential")
    public, _ = make_client("Fuzz public", client_type=Client.Type.PUBLIC)
    return {"confidential": confidential.client_id, "secret": secret, "public": public.client_id}


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITTEN}


def text_values(extra: list[str] = ()) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="ascii"), max_size=200),
        st.sampled_from([*extra, "", " ", "\x00", "\r\n", "%00", "%ZZ", "é", "\ud7ff", "a" * 3000]),
    )


def param_pairs(known_values: st.SearchStrategy[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Parameters with repeats allowed: (name, value) pairs, names mostly real ones."""
    names = st.one_of(st.sampled_from(PARAM_NAMES), st.text(max_size=12))
    values = st.one_of(known_values, text_values(GRANT_TYPES))
    return st.lists(st.tuples(names, values), max_size=12)


def auth_headers(known_values: dict) -> st.SearchStrategy[dict]:
    def basic(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogatepass")).decode()

    junk = st.text(max_size=60)
    return st.one_of(
        st.just({}),
        st.builds(
            lambda u, p: {"HTTP_AUTHORIZATION": basic(u, p)},
            st.sampled_from([known_values["confidential"], known_values["public"], "nobody", ""]) | junk,
            st.sampled_from(["wrong-secret", "", known_values["secret"][:-1]]) | junk,
        ),
        st.builds(lambda j: {"HTTP_AUTHORIZATION": j}, junk),
        st.builds(lambda j: {"HTTP_AUTHORIZATION": "Basic " + j}, junk),
        st.builds(lambda j: {"HTTP_AUTHORIZATION": "Bearer " + j}, junk),
        st.builds(
            lambda ip, ua: {"HTTP_X_FORWARDED_FOR": ip, "HTTP_USER_AGENT": ua, "HTTP_X_REQUEST_ID": ua},
            junk,
            junk,
        ),
    )


def bodies(pairs: list[tuple[str, str]]) -> st.SearchStrategy[tuple[bytes, str | None]]:
    """The same parameters in several encodings and content types, or raw junk."""
    form = urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")
    return st.one_of(
        st.just((form, "application/x-www-form-urlencoded")),
        st.just((form, "application/x-www-form-urlencoded; charset=utf-8")),
        st.just((form, "application/x-www-form-urlencoded; charset=iso-8859-1")),
        st.just((form, None)),
        st.just((form, "text/plain")),
        st.just(
            (json.dumps(dict(pairs), ensure_ascii=False).encode("utf-8", "surrogatepass"), "application/json")
        ),
        st.just((form, "multipart/form-data; boundary=zzz")),
        st.tuples(st.binary(max_size=300), st.sampled_from(["application/x-www-form-urlencoded", None])),
        st.just((b"", "application/x-www-form-urlencoded")),
    )


def post(http: HttpClient, path: str, body: bytes, content_type: str | None, headers: dict, query=""):
    url = path + ("?" + query if query else "")
    extra = dict(headers)
    if content_type is None:
        return http.generic("POST", url, body, **extra)
    return http.generic("POST", url, body, content_type=content_type, **extra)


def assert_rfc_answer(response, *, allow_success: bool = False) -> dict | None:
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if 200 <= response.status_code < 300:
        assert allow_success, response.content[:300]
        return json.loads(response.content) if response.content else None
    assert response["Content-Type"].startswith("application/json"), (
        response.status_code,
        response.content[:200],
    )
    body = json.loads(response.content)
    assert body.get("error") in RFC_ERRORS, body
    assert "Traceback" not in response.content.decode("utf-8", "replace")
    return body


@st.composite
def protocol_requests(draw, known_values):
    client_ids = st.sampled_from([known_values["confidential"], known_values["public"]])
    pairs = draw(param_pairs(client_ids))
    if draw(st.booleans()):
        pairs.insert(0, ("grant_type", draw(st.sampled_from(GRANT_TYPES))))
    body, content_type = draw(bodies(pairs))
    headers = draw(auth_headers(known_values))
    query = urlencode(draw(param_pairs(client_ids)), errors="surrogatepass") if draw(st.booleans()) else ""
    return body, content_type, headers, query


def _fuzz_endpoint(known, path, allow_success=False):
    http = HttpClient()
    before = row_counts()

    @EXAMPLES
    @given(protocol_requests(known))
    def run(request):
        body, content_type, headers, query = request
        response = post(http, path, body, content_type, headers, query)
        assert_rfc_answer(response, allow_success=allow_success)
        assert row_counts() == before

    run()


def test_fuzz_token_endpoint(known):
    _fuzz_endpoint(known, "/oauth/token")


def test_fuzz_revocation_endpoint(known):
    # RFC 7009 §2.2: revoking an unknown token is a 200 with an empty body.
    _fuzz_endpoint(known, "/oauth/revoke", allow_success=True)


def test_fuzz_introspection_endpoint(known):
    http = HttpClient()
    before = row_counts()

    @EXAMPLES
    @given(protocol_requests(known))
    def run(request):
        body, content_type, headers, query = request
        response = post(http, "/oauth/introspect", body, content_type, headers, query)
        answer = assert_rfc_answer(response, allow_success=True)
        if response.status_code == 200:
            assert answer == {"active": False}
        assert row_counts() == before

    run()


@EXAMPLES
@given(
    method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]), query=st.text(max_size=50)
)
def test_fuzz_protocol_endpoints_with_other_methods(db, method, query):
    http = HttpClient()
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        response = http.generic(method, path + "?" + urlencode({"q": query}, errors="surrogatepass"))
        # RFC 6749 §3.2 and RFC 7009/7662 §2.1: POST only; any other method is 405 (RFC 9110 §15.5.6).
        assert response.status_code == 405, (path, method, response.status_code)
        if method != "HEAD":
            assert_rfc_answer(response)


def test_fuzz_resource_endpoint(known):
    http = HttpClient()

    @EXAMPLES
    @given(auth_headers(known), param_pairs(st.just("x")))
    def run(headers, pairs):
        response = http.get("/api/me?" + urlencode(pairs, errors="surrogatepass"), **headers)
        body = assert_rfc_answer(response)
        # RFC 6750 §3.1: a request without bearer credentials (none, or another scheme) gets 401
        # and a bare challenge; otherwise each error code has its one status.
        if "error=" not in response["WWW-Authenticate"]:
            expected = 401
        else:
            expected = {"invalid_request": 400, "invalid_token": 401, "insufficient_scope": 403}[
                body["error"]
            ]
        assert response.status_code == expected, (body, response.status_code, response["WWW-Authenticate"])
        assert response["WWW-Authenticate"].startswith("Bearer")

    run()


def test_fuzz_authorization_endpoint(known, end_user):
    """People's endpoint: answers are pages or redirects, never a 5xx, never a code, and a
    redirect goes only to the sign-in page or a registered redirect URI."""
    anonymous, signed_in = HttpClient(), HttpClient()
    signed_in.force_login(end_user)
    registered = "https://app.example.com/callback"

    @EXAMPLES
    @given(
        param_pairs(st.sampled_from([known["confidential"], known["public"], registered, "code", "S256"])),
        st.booleans(),
    )
    def run(pairs, logged_in):
        http = signed_in if logged_in else anonymous
        response = http.get("/oauth/authorize?" + urlencode(pairs, errors="surrogatepass"))
        # Random requests, so several answers are right (RFC 6749 §4.1.2.1): the consent page (200),
        # a redirect to sign in or with an error to a registered URI (302), or an error page (400)
        # when the client or redirect URI cannot be trusted. Never 405: GET is the endpoint's method.
        assert response.status_code in (200, 302, 400), response.status_code
        if response.status_code == 302:
            location = response["Location"]
            assert location.startswith(("/accounts/login/", registered + "?")), location
            assert "code=" not in location
        assert AuthorizationCode.objects.count() == 0

    run()


def _json_values():
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=12,
    )


REGISTRATION_FIELDS = [
    "client_name",
    "redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "scope",
    "client_uri",
    "logo_uri",
    "contacts",
    "jwks",
    "jwks_uri",
    "software_statement",
    "client_id",
    "client_secret",
]


def test_fuzz_registration_endpoint(known):
    _, initial_access_token = services.create_initial_access_token(
        actor=Actor.system("fuzz"), max_registrations=1000, allowed_scope=["profile", "read"]
    )
    http = HttpClient()
    metadata = st.dictionaries(
        st.sampled_from(REGISTRATION_FIELDS) | st.text(max_size=10), _json_values(), max_size=8
    )
    tokens = st.sampled_from([initial_access_token, "", "oia_wrong", initial_access_token + "x"]) | st.text(
        max_size=30
    )

    @EXAMPLES
    @given(
        metadata,
        tokens,
        st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", None]),
        st.booleans(),
    )
    def run(body, token, content_type, raw_junk):
        before = row_counts()
        payload = (
            json.dumps(body, allow_nan=True).encode() if not raw_junk else json.dumps(body)[:-1].encode()
        )
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        response = post(http, "/oauth/register", payload, content_type, headers)
        answer = assert_rfc_answer(response, allow_success=True)
        if response.status_code != 201:
            assert row_counts() == before
        else:
            assert "client_id" in answer

    run()


def test_fuzz_client_configuration_endpoint(known):
    http = HttpClient()
    before = row_counts()

    @EXAMPLES
    @given(
        st.text(min_size=1, max_size=80).filter(lambda s: "/" not in s and "?" not in s and "#" not in s),
        st.sampled_from(["GET", "PUT", "DELETE", "POST"]),
        st.text(max_size=40),
    )
    def run(client_id, method, token):
        from urllib.parse import quote

        response = http.generic(
            method,
            "/oauth/register/" + quote(client_id, safe="", errors="surrogatepass"),
            b"{}",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        if response.status_code != 405:
            assert_rfc_answer(response)
        assert row_counts() == before

    run()


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/register"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"grant_type=client_credentials&" + b"a" * 3_000_000, id="over-the-size-limit"),
        pytest.param(b"&".join(b"k%d=v" % i for i in range(5000)), id="too-many-fields"),
        pytest.param(b"grant_type=" + b"x" * 2_000_000, id="one-huge-value"),
    ],
)
def test_empty_and_huge_bodies(known, path, body):
    before = row_counts()
    response = HttpClient().generic(
        "POST",
        path,
        body,
        content_type="application/json" if path == "/oauth/register" else "application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"{known['confidential']}:{known['secret']}".encode()).decode(),
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
    assert_rfc_answer(response)
    assert row_counts() == before


@pytest.mark.parametrize("client_id", ["%0A", "a%0Db", "%00", "x/y", "%E2%80%A8"])
def test_client_configuration_with_odd_client_ids_answers_rfc_json(db, client_id):
    """Found by the fuzzer: a line break in the client_id missed the URL pattern (HTML 404)."""
    response = HttpClient().get("/oauth/register/" + client_id, HTTP_AUTHORIZATION="Bearer org_x")
    assert response.status_code == 401
    assert_rfc_answer(response)


@pytest.mark.parametrize("metadata", [{"jwks": {}}, {"jwks": None}, {"jwks": {"keys": "x"}}, {"jwks": []}])
def test_registration_with_malformed_jwks_answers_invalid_client_metadata(db, metadata):
    """Found by the fuzzer: authlib's jwks check raised KeyError/TypeError (a 500)."""
    _, initial_access_token = services.create_initial_access_token(actor=Actor.system("fuzz"))
    response = HttpClient().post(
        "/oauth/register",
        json.dumps({"redirect_uris": ["https://app.example.com/callback"], **metadata}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {initial_access_token}",
    )
    assert response.status_code == 400
    assert assert_rfc_answer(response)["error"] == "invalid_client_metadata"
    assert not Client.objects.exists()


def test_fuzz_client_configuration_update(known):
    """RFC 7592 PUT with a real registration access token and random metadata."""
    _, initial_access_token = services.create_initial_access_token(
        actor=Actor.system("fuzz"), allowed_scope=["profile", "read"]
    )
    http = HttpClient()
    registered = http.post(
        "/oauth/register",
        json.dumps({"redirect_uris": ["https://app.example.com/callback"], "scope": "profile"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {initial_access_token}",
    ).json()
    url = "/oauth/register/" + registered["client_id"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {registered['registration_access_token']}"}
    before = row_counts()

    @EXAMPLES
    @given(
        st.dictionaries(
            st.sampled_from(REGISTRATION_FIELDS) | st.text(max_size=10), _json_values(), max_size=8
        )
    )
    def run(body):
        body = {**body, "client_id": body.get("client_id", registered["client_id"])}
        response = http.put(url, json.dumps(body), content_type="application/json", **auth)
        assert_rfc_answer(response, allow_success=True)
        assert row_counts() == before

    run()


@pytest.mark.parametrize("change", [{"grant_types": None}, {"client_secret": True}, {"client_secret": ["x"]}])
def test_client_configuration_update_with_odd_types_answers_rfc_json(db, change):
    """Found by the fuzzer: a null grant_types and a non-string client_secret were 500s."""
    _, initial_access_token = services.create_initial_access_token(actor=Actor.system("fuzz"))
    http = HttpClient()
    registered = http.post(
        "/oauth/register",
        json.dumps({"redirect_uris": ["https://app.example.com/callback"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {initial_access_token}",
    ).json()
    body = {
        "client_id": registered["client_id"],
        "redirect_uris": ["https://app.example.com/callback"],
        **change,
    }
    response = http.put(
        "/oauth/register/" + registered["client_id"],
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {registered['registration_access_token']}",
    )
    assert response.status_code < 500
    assert_rfc_answer(response, allow_success=True)
