"""server.oauth2's JWT access tokens (RFC 9068), model-agnostic: the generator's header and
claims (§2), and the offline validator a resource server uses (§4) in the spec's decorator
style, with its JWKS cache (max-age, refetch on an unknown kid, rate-limited)."""

import base64
import json
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from server.oauth2 import JWTAccessTokenGenerator, JWTBearerTokenValidator, RemoteKeySet, ResourceProtector
from tests.ids import plain_id

ISSUER = "https://auth.example.com"
API = "https://api.example.com"


class App:
    """A client as authlib sees one."""

    def __init__(self, client_id="app-1"):
        self.client_id = client_id

    def get_client_id(self):
        return self.client_id

    def get_allowed_scope(self, scope):
        return scope


class Person:
    pk = 42


RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256", "use": "sig"}, private=True)
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "alg": "ES256", "use": "sig"}, private=True)
OTHER = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256"}, private=True)


def jwks(*keys) -> dict:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "sub": "42",
        "aud": API,
        "exp": now + 300,
        "iat": now,
        "jti": "j-1",
        "client_id": "app-1",
        "scope": "read write",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload=None, *, key=RSA, alg="RS256", typ="at+jwt", kid="rsa-1") -> str:
    header = {"alg": alg, "kid": kid}
    if typ is not None:
        header["typ"] = typ
    if kid is None:
        del header["kid"]
    return jwt.encode(header, payload or claims(), key, algorithms=[alg])


def protector(**options) -> ResourceProtector:
    if "key_set" not in options:
        options.setdefault("jwks", jwks(RSA, EC))
    protect = ResourceProtector()
    protect.register_token_validator(JWTBearerTokenValidator(ISSUER, API, **options))
    return protect


def call(token: str, scope="read", **options):
    def orders(request):
        token = request.oauth_token
        return JsonResponse({"sub": token["sub"], "client_id": token["client_id"]})

    view = protector(**options)(scope)(orders)
    return view(RequestFactory().get("/orders", HTTP_AUTHORIZATION=f"Bearer {token}"))


def refusal(response) -> str:
    assert response.status_code == 401, response.content
    assert (
        response["WWW-Authenticate"].startswith('Bearer realm="')
        and 'error="invalid_token"' in response["WWW-Authenticate"]
    )
    return json.loads(response.content)["error_description"]


# --- the generator: §2 ----------------------------------------------------------------------------


def test_the_generator_writes_exactly_the_rfc9068_header_and_claims():
    generator = JWTAccessTokenGenerator(issuer=ISSUER, signing_key=lambda alg: ("rsa-1", RSA))
    token = generator.create(
        client=App(), grant_type="code", user=Person(), scope="read", audiences=[API], expires_in=600
    )
    decoded = jwt.decode(token, KeySet.import_key_set(jwks(RSA)), algorithms=["RS256"])
    assert decoded.header == {"typ": "at+jwt", "alg": "RS256", "kid": "rsa-1"}
    assert set(decoded.claims) == {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"}
    assert decoded.claims["sub"] == "42" and decoded.claims["aud"] == API
    assert decoded.claims["exp"] - decoded.claims["iat"] == 600
    assert call(token).status_code == 200


def test_the_generator_as_authlibs_token_generator_defaults_aud_to_the_client_and_omits_an_empty_scope():
    generator = JWTAccessTokenGenerator(
        issuer=lambda: ISSUER, signing_key=lambda alg: ("ec-1", EC), alg="ES256", expires_generator=120
    )
    token = generator(grant_type="client_credentials", client=App(), scope="", include_refresh_token=False)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 120
    decoded = jwt.decode(token["access_token"], KeySet.import_key_set(jwks(EC)), algorithms=["ES256"])
    assert decoded.claims["sub"] == "app-1" == decoded.claims["aud"]  # authlib's default audience
    assert "scope" not in decoded.claims


def test_the_generator_never_signs_with_none_or_a_shared_secret():
    for alg in ("none", "HS256"):
        with pytest.raises(ValueError):
            JWTAccessTokenGenerator(issuer=ISSUER, signing_key=lambda alg: ("k", RSA), alg=alg)


def test_extra_claims_cannot_replace_the_protocol_claims():
    class WithRoles(JWTAccessTokenGenerator):
        def get_extra_claims(self, client, grant_type, user, scope):
            return {"roles": ["admin"], "iss": "https://evil.example", "aud": "everyone", "scope": "all"}

    token = WithRoles(issuer=ISSUER, signing_key=lambda alg: ("rsa-1", RSA)).create(
        client=App(), grant_type="client_credentials", scope="read", audiences=[API]
    )
    body = jwt.decode(token, KeySet.import_key_set(jwks(RSA))).claims
    assert body["roles"] == ["admin"]
    assert (body["iss"], body["aud"], body["scope"]) == (ISSUER, API, "read")


# --- the validator: §4 ----------------------------------------------------------------------------


def test_a_valid_token_reaches_the_view_with_its_claims():
    response = call(sign())
    assert response.status_code == 200
    assert json.loads(response.content) == {"sub": "42", "client_id": "app-1"}


def test_es256_and_the_long_typ_are_accepted_too():
    assert call(sign(key=EC, alg="ES256", kid="ec-1", typ="application/at+jwt")).status_code == 200


def test_aud_may_be_a_list_holding_this_resource():
    assert call(sign(claims(aud=["https://other.example", API]))).status_code == 200


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (lambda: sign(typ="JWT"), "typ"),  # an ID token's typ
        (lambda: sign(typ=None), "typ"),  # §4: typ is required, not merely checked if present
        (lambda: sign(claims(aud="https://other.example")), "not valid for this resource"),
        (lambda: sign(claims(aud=["https://a.example", "https://b.example"])), "not valid for this resource"),
        (lambda: sign(claims(iss="https://evil.example")), "not valid for this resource"),
        (lambda: sign(claims(exp=int(time.time()) - 1)), "expired"),
        (lambda: sign(claims(nbf=int(time.time()) + 600)), "not valid for this resource"),
        (lambda: sign(claims(iat=int(time.time()) + 600)), "not valid for this resource"),
        (lambda: sign(claims(jti=None)), "not valid for this resource"),
        (lambda: sign(claims(client_id=None)), "not valid for this resource"),
        (lambda: sign(claims(sub=None)), "not valid for this resource"),
        (lambda: sign(kid="unknown"), "key the issuer does not publish"),
        (lambda: sign(kid=None), "key the issuer does not publish"),
        (lambda: sign(key=OTHER), "signature"),  # same kid, another key: forged
        (lambda: sign(key=EC, alg="ES256", kid="rsa-1"), "does not match its key"),
    ],
)
def test_section_4_refusals(token, why):
    assert why in refusal(call(token()))


def test_alg_none_is_refused():
    unsigned = f"{b64({'typ': 'at+jwt', 'alg': 'none', 'kid': 'rsa-1'})}.{b64(claims())}."
    assert "algorithm" in refusal(call(unsigned))


def test_hs256_keyed_with_the_public_key_is_refused():
    # The classic confusion attack: an HMAC whose secret is the published public key.
    public = json.dumps(RSA.as_dict(private=False)).encode()
    header = {"typ": "at+jwt", "alg": "HS256", "kid": "rsa-1"}
    forged = jwt.encode(header, claims(), OctKey.import_key(public))
    assert "algorithm" in refusal(call(forged))


def test_a_tampered_payload_is_refused():
    header, _payload, signature = sign().split(".")
    tampered = f"{header}.{b64(claims(scope='read write admin'))}.{signature}"
    assert "signature" in refusal(call(tampered, scope="admin"))


def test_a_malformed_token_is_refused():
    assert "not a JWT" in refusal(call("not-a-jwt"))


def test_insufficient_scope_is_403():
    response = call(sign(claims(scope="read")), scope="write")
    assert response.status_code == 403
    assert json.loads(response.content)["error"] == "insufficient_scope"


def test_a_symmetric_or_no_algorithm_cannot_be_allowed():
    for algorithms in (["HS256"], ["none"], ["RS256", "HS512"], []):
        with pytest.raises(ImproperlyConfigured):
            JWTBearerTokenValidator(ISSUER, API, jwks=jwks(RSA), algorithms=algorithms)


def test_one_key_source_is_required():
    with pytest.raises(ImproperlyConfigured):
        JWTBearerTokenValidator(ISSUER, API)
    with pytest.raises(ImproperlyConfigured):
        JWTBearerTokenValidator(ISSUER, API, jwks=jwks(RSA), jwks_uri="https://auth.example.com/oauth/jwks")


def test_a_private_or_symmetric_key_in_the_jwks_is_ignored():
    leaked = {"keys": [RSA.as_dict(private=True), {"kty": "oct", "kid": "hs", "k": "c2VjcmV0"}]}
    assert "key the issuer does not publish" in refusal(call(sign(), jwks=leaked))


def test_a_revoked_token_is_accepted_offline_unless_token_revoked_is_overridden():
    class Introspecting(JWTBearerTokenValidator):
        def token_revoked(self, token):
            return token["jti"] == "j-1"  # e.g. an RFC 7662 call to the server

    protect = ResourceProtector()
    protect.register_token_validator(Introspecting(ISSUER, API, jwks=jwks(RSA)))
    view = protect("read")(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/orders", HTTP_AUTHORIZATION=f"Bearer {sign()}")
    assert "revoked" in refusal(view(request))
    assert call(sign()).status_code == 200  # the default validator cannot know


# --- the JWKS cache ------------------------------------------------------------------------------


class FakeJWKS:
    def __init__(self, document, max_age=600):
        self.document, self.max_age, self.calls, self.fail = document, max_age, 0, False

    def __call__(self, uri):
        self.calls += 1
        if self.fail:
            raise OSError("connection refused")
        return self.document, self.max_age


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def remote(fetch, clock, **options):
    return RemoteKeySet("https://auth.example.com/oauth/jwks", fetch=fetch, clock=clock, **options)


def test_the_jwks_is_fetched_once_per_max_age():
    fetch, clock = FakeJWKS(jwks(RSA), max_age=600), Clock()
    keys = remote(fetch, clock)
    for _ in range(5):
        assert call(sign(), key_set=keys).status_code == 200
    assert fetch.calls == 1
    clock.now += 601
    assert call(sign(), key_set=keys).status_code == 200
    assert fetch.calls == 2


def test_an_unknown_kid_refetches_once_then_waits_the_interval():
    fetch, clock = FakeJWKS(jwks(RSA)), Clock()
    keys = remote(fetch, clock, min_refetch_interval=30)
    assert call(sign(), key_set=keys).status_code == 200
    clock.now += 31
    # A rotation: the server now publishes a key we have not seen.
    fetch.document = jwks(RSA, EC)
    assert call(sign(key=EC, alg="ES256", kid="ec-1"), key_set=keys).status_code == 200
    assert fetch.calls == 2
    # Made-up kids do not turn into a flood of fetches.
    for n in range(20):
        refusal(call(sign(kid=f"made-up-{n}"), key_set=keys))
    assert fetch.calls == 2
    clock.now += 31
    refusal(call(sign(kid="made-up-again"), key_set=keys))
    assert fetch.calls == 3


def test_a_failed_fetch_keeps_the_keys_it_had():
    fetch, clock = FakeJWKS(jwks(RSA), max_age=60), Clock()
    keys = remote(fetch, clock, min_refetch_interval=30)
    assert call(sign(), key_set=keys).status_code == 200
    fetch.fail = True
    clock.now += 61
    assert call(sign(), key_set=keys).status_code == 200  # stale, but known keys still verify
    assert fetch.calls == 2


def test_max_age_is_capped_and_defaulted():
    clock = Clock()
    keys = remote(FakeJWKS(jwks(RSA), max_age=None), clock, default_max_age=300)
    keys.key_for("rsa-1")
    clock.now += 299
    keys.key_for("rsa-1")
    assert keys.fetches == 1
    clock.now += 2
    keys.key_for("rsa-1")
    assert keys.fetches == 2
    capped = remote(FakeJWKS(jwks(RSA), max_age=10**9), clock, max_max_age=3600)
    capped.key_for("rsa-1")
    clock.now += 3601
    capped.key_for("rsa-1")
    assert capped.fetches == 2


def test_the_default_fetch_wants_https():
    from server.oauth2.jwt_validation import fetch_jwks

    with pytest.raises(ValueError):
        fetch_jwks("http://auth.example.com/oauth/jwks")
    with pytest.raises(ValueError):
        fetch_jwks("file:///etc/passwd")
    with pytest.raises(ValueError):
        fetch_jwks("http://localhost.evil.example/jwks")


def test_jwks_as_a_callable_is_read_again_on_each_token():
    published = {"document": jwks(RSA)}
    assert call(sign(), jwks=lambda: published["document"]).status_code == 200
    published["document"] = jwks(EC)  # the RSA key was withdrawn
    refusal(call(sign(), jwks=lambda: published["document"]))


@pytest.fixture
def jwks_server():
    """A loopback HTTP server: /jwks serves RSA's JWKS with max-age 120 (or the Cache-Control set
    in `jwks_server.cache_control`); /moved redirects there."""
    import http.server
    import threading

    headers = {"Cache-Control": "public, max-age=120"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.server.hits += 1
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/jwks")
                self.end_headers()
                return
            body = json.dumps(jwks(RSA)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", headers["Cache-Control"])
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.hits = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield JWKSServer(f"http://127.0.0.1:{server.server_address[1]}", server, headers)
    server.shutdown()


class JWKSServer(str):
    """The server's base URL (a str, as the tests use it), its hit count and its headers."""

    def __new__(cls, url, server, headers):
        made = super().__new__(cls, url)
        made.server, made.headers = server, headers
        return made

    @property
    def hits(self) -> int:
        return self.server.hits


def test_the_default_fetch_reads_the_jwks_and_its_max_age_and_refuses_redirects(jwks_server):
    import urllib.error

    from server.oauth2.jwt_validation import fetch_jwks

    document, max_age = fetch_jwks(jwks_server + "/jwks")
    assert max_age == 120 and document == jwks(RSA)
    with pytest.raises(urllib.error.HTTPError):
        fetch_jwks(jwks_server + "/moved")
    assert call(sign(), key_set=None, jwks_uri=jwks_server + "/jwks").status_code == 200


# "²".isdigit() is true and int("²") raised: fetch_jwks failed on a valid JWK Set, so RemoteKeySet
# kept no keys and refused every token. "٣".isdigit() is true and int("٣") read 3: the JWKS was
# fetched again every 3 seconds. Neither is a max-age (RFC 9111 §1.2.2: 1*DIGIT): the document is
# kept for default_max_age, as without one.
OTHER_DIGITS = [
    "max-age=\u00b2",
    "max-age=\u0663",
    "public, max-age=\u0661\u0662\u0660",
    "max-age=\uff16\uff10",
]


@pytest.mark.parametrize("cache_control", OTHER_DIGITS, ids=plain_id)
def test_a_max_age_in_other_digits_is_no_max_age_and_the_jwks_is_cached_as_without_one(cache_control):
    from server.oauth2.jwt_validation import _max_age

    assert _max_age(cache_control) is None
    fetched = []

    def fetch(uri):  # fetch_jwks's answer for a response carrying `cache_control`
        fetched.append(uri)
        return jwks(RSA), _max_age(cache_control)

    clock = Clock()
    keys = remote(fetch, clock, default_max_age=300)
    assert call(sign(), key_set=keys).status_code == 200
    clock.now += 150
    assert call(sign(), key_set=keys).status_code == 200
    assert len(fetched) == 1
    clock.now += 151  # past default_max_age: fetched again
    assert call(sign(), key_set=keys).status_code == 200
    assert len(fetched) == 2


@pytest.mark.parametrize("cache_control", ["max-age=\u00b2", "max-age=\u00b9\u00b2\u00b3"], ids=plain_id)
def test_a_jwks_served_with_a_max_age_in_superscripts_is_used_and_cached(jwks_server, cache_control):
    # Latin-1, as a server sends it and http.client reads it: the bytes are b"max-age=\xb2".
    from server.oauth2.jwt_validation import fetch_jwks

    jwks_server.headers["Cache-Control"] = cache_control
    assert fetch_jwks(jwks_server + "/jwks") == (jwks(RSA), None)
    clock = Clock()
    keys = RemoteKeySet(jwks_server + "/jwks", clock=clock, default_max_age=300)
    for _ in range(3):
        assert call(sign(), key_set=keys).status_code == 200
        clock.now += 90
    assert keys.fetches == 1
    clock.now += 31
    assert call(sign(), key_set=keys).status_code == 200
    assert keys.fetches == 2


@pytest.mark.parametrize(
    "cache_control, seconds",
    [
        ("max-age=120", 120),
        ("public, MAX-AGE = 0", None),  # RFC 9111 §5.2: no spaces around "=", so no max-age
        ("max-age=0", 0),
        ("max-age=007", 7),
        ("max-age=+60", None),
        ("max-age=-60", None),
        ("max-age=6_0", None),
        ("max-age=", None),
        ("max-age=2147483649", 2**31),  # RFC 9111 §1.2.2: more than a cache can hold is 2**31
        ("max-age=" + "9" * 5000, 2**31),  # int() refuses more than 4300 digits
        ("no-store", None),
    ],
)
def test_the_jwks_max_age_is_ascii_digits(cache_control, seconds):
    from server.oauth2.jwt_validation import _max_age

    assert _max_age(cache_control) == seconds
