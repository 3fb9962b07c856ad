"""private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect Core §9) at the token,
revocation and introspection endpoints.

The relying party's side is written here with joserfc, independently of the server's code:
it generates its own key pair, registers the public half, and signs each assertion. The OpenID
Foundation runs its Basic, Config and Dynamic OP plans with a `client_auth_type=private_key_jwt`
variant; `test_oidcc_server_with_private_key_jwt` mirrors oidcc-server under it. The other
tests are named after what they check.
"""

import base64
import json
import secrets
import time
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client as HttpClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from server import services
from server.actors import Actor
from server.oauth2 import signals
from server.oauth2.client_assertion import ASSERTION_TYPE
from tests.oidc.conftest import ISSUER, authorize, verify_id_token
from tests.server.helpers import REDIRECT_URI, basic_auth, form, query_of

TOKEN_URL = ISSUER + "/oauth/token"
NONCE = "n-0S6_WzA2Mj"  # what tests.oidc.conftest.authorize_params sends


def rp_key(alg="RS256", kid="rp-key-1"):
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": alg}, private=True)
    return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


def public_jwks(*keys) -> dict:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def assertion(client_id, key, *, alg="RS256", header=None, **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    head = {"alg": alg, "kid": key.kid} if header is None else header
    return jwt.encode(head, payload, key, algorithms=[alg])


def assertion_fields(signed: str) -> dict:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}


def client_credentials(signed: str, **extra):
    data = {"grant_type": "client_credentials", "scope": "read", **assertion_fields(signed), **extra}
    return form(HttpClient(), "/oauth/token", data)


@pytest.fixture
def key():
    return rp_key()


@pytest.fixture
def jwt_client(make_client, key):
    """A private_key_jwt client with its public key registered inline."""
    client, secret = make_client(
        "Key app",
        scope=["openid", "profile", "email", "read"],
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(key),
    )
    assert secret is None  # it has no secret: it authenticates with its key
    return client


@pytest.fixture
def failures():
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.client_authentication_failed.connect(receiver)
    yield seen
    signals.client_authentication_failed.disconnect(receiver)


# --- success --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_a_signed_assertion_authenticates_at_the_token_endpoint(make_client, alg):
    key = rp_key("ES256" if alg == "ES256" else "RS256")
    client, _ = make_client(
        "Key app", scope=["read"], token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key)
    )
    response = client_credentials(assertion(client.client_id, key, alg=alg))
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


def test_the_issuer_is_an_accepted_audience(jwt_client, key):
    assert client_credentials(assertion(jwt_client.client_id, key, aud=ISSUER)).status_code == 200
    # An array holding the token endpoint's URL among others is accepted too.
    signed = assertion(jwt_client.client_id, key, aud=["https://other.example", TOKEN_URL])
    assert client_credentials(signed).status_code == 200


def test_a_body_client_id_may_repeat_the_assertions_subject(jwt_client, key):
    response = client_credentials(assertion(jwt_client.client_id, key), client_id=jwt_client.client_id)
    assert response.status_code == 200


def test_oidcc_server_with_private_key_jwt(browser, jwt_client, key, user):
    response, verifier = authorize(browser, jwt_client)
    code = query_of(response["Location"])["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **assertion_fields(assertion(jwt_client.client_id, key)),
    }
    token = form(HttpClient(), "/oauth/token", data)
    assert token.status_code == 200, token.content
    tokens = token.json()
    claims = verify_id_token(tokens["id_token"], jwt_client, access_token=tokens["access_token"], nonce=NONCE)
    assert claims["sub"] == str(user.pk)
    # Refresh, authenticated by a new assertion.
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        **assertion_fields(assertion(jwt_client.client_id, key)),
    }
    assert form(HttpClient(), "/oauth/token", refresh).status_code == 200


def test_revocation_and_introspection_accept_assertions(jwt_client, key):
    access_token = client_credentials(assertion(jwt_client.client_id, key)).json()["access_token"]
    introspect_url = ISSUER + "/oauth/introspect"
    introspected = form(
        HttpClient(),
        "/oauth/introspect",
        {"token": access_token, **assertion_fields(assertion(jwt_client.client_id, key, aud=introspect_url))},
    )
    assert introspected.status_code == 200, introspected.content
    assert introspected.json()["active"] is True
    revoked = form(
        HttpClient(),
        "/oauth/revoke",
        {"token": access_token, **assertion_fields(assertion(jwt_client.client_id, key))},
    )
    assert revoked.status_code == 200, revoked.content
    again = form(
        HttpClient(),
        "/oauth/introspect",
        {"token": access_token, **assertion_fields(assertion(jwt_client.client_id, key, aud=ISSUER))},
    )
    assert again.json() == {"active": False}


def test_discovery_lists_private_key_jwt_and_its_algorithms():
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        metadata = HttpClient().get(path).json()
        for endpoint in ("token", "revocation", "introspection"):
            assert "private_key_jwt" in metadata[f"{endpoint}_endpoint_auth_methods_supported"]
            algs = metadata[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
            assert set(algs) == {"RS256", "PS256", "ES256"}
        assert "client_secret_jwt" not in metadata["token_endpoint_auth_methods_supported"]


# --- refusals --------------------------------------------------------------------------------


def refused(response, *words):
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["error"] == "invalid_client"
    for word in words:
        assert word in body["error_description"], body["error_description"]
    return body


def test_a_wrong_audience_is_refused(jwt_client, key):
    signed = assertion(jwt_client.client_id, key, aud="https://another-server.example/token")
    refused(client_credentials(signed), "aud", TOKEN_URL)


def test_an_expired_assertion_is_refused(jwt_client, key):
    now = int(time.time())
    refused(client_credentials(assertion(jwt_client.client_id, key, iat=now - 600, exp=now - 120)), "expired")


def test_an_assertion_without_exp_is_refused(jwt_client, key):
    refused(client_credentials(assertion(jwt_client.client_id, key, exp=None)), "exp")


def test_an_assertion_valid_for_too_long_is_refused(jwt_client, key, settings):
    far = int(time.time()) + 3600
    refused(client_credentials(assertion(jwt_client.client_id, key, exp=far)), "300 seconds ahead")
    settings.OAUTH2_CLIENT_ASSERTION_MAX_LIFETIME = 7200
    assert client_credentials(assertion(jwt_client.client_id, key, exp=far)).status_code == 200


def test_an_assertion_from_the_future_is_refused(jwt_client, key):
    later = int(time.time()) + 200
    refused(client_credentials(assertion(jwt_client.client_id, key, nbf=later)), "nbf")
    refused(client_credentials(assertion(jwt_client.client_id, key, iat=later)), "iat")


def test_a_replayed_jti_is_refused(jwt_client, key):
    signed = assertion(jwt_client.client_id, key)
    assert client_credentials(signed).status_code == 200
    refused(client_credentials(signed), "used before")
    # The same jti in a newly signed assertion is the same replay.
    jti = json.loads(base64.urlsafe_b64decode(signed.split(".")[1] + "=="))["jti"]
    refused(client_credentials(assertion(jwt_client.client_id, key, jti=jti)), "used before")


def test_a_jti_is_remembered_per_client(make_client, jwt_client, key):
    other_key = rp_key(kid="other")
    other, _ = make_client(
        "Other", scope=["read"], token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(other_key)
    )
    assert client_credentials(assertion(jwt_client.client_id, key, jti="shared-jti")).status_code == 200
    assert client_credentials(assertion(other.client_id, other_key, jti="shared-jti")).status_code == 200


def test_the_jti_is_remembered_for_the_assertions_lifetime(jwt_client, key, local_memory_cache):
    with time_machine.travel(time.time(), tick=False) as traveller:
        signed = assertion(jwt_client.client_id, key)  # exp: in 60 s
        assert client_credentials(signed).status_code == 200
        traveller.shift(50)
        refused(client_credentials(signed), "used before")
        traveller.shift(60)
        refused(client_credentials(signed), "expired")


def test_an_assertion_without_jti_is_refused(jwt_client, key):
    refused(client_credentials(assertion(jwt_client.client_id, key, jti=None)), "jti")


def test_an_assertion_signed_with_another_key_is_refused(jwt_client):
    intruder = rp_key(kid="rp-key-1")  # the registered kid, another key
    refused(client_credentials(assertion(jwt_client.client_id, intruder)), "signature")


def test_an_unknown_kid_is_refused(jwt_client):
    stranger = rp_key(kid="not-registered")
    refused(client_credentials(assertion(jwt_client.client_id, stranger)), "not-registered")


def test_an_odd_kid_is_quoted_safely(jwt_client):
    # Quotes and backslashes cannot be in an error_description (RFC 6749 §5.2): still a 401.
    stranger = rp_key(kid='it\'s "odd" \\ é')
    refused(client_credentials(assertion(jwt_client.client_id, stranger)), "no RS256 key with kid")


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_unsigned_and_hmac_assertions_are_refused(jwt_client, key, alg):
    now = int(time.time())
    claims = {
        "iss": jwt_client.client_id,
        "sub": jwt_client.client_id,
        "aud": TOKEN_URL,
        "exp": now + 60,
        "jti": "j",
    }
    header = base64.urlsafe_b64encode(json.dumps({"alg": alg, "kid": key.kid}).encode()).rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    if alg == "none":
        signed = f"{header}.{body}."
    else:
        # HMAC keyed with the public key's own text: the classic algorithm-confusion attack.
        secret = OctKey.import_key(json.dumps(key.as_dict(private=False)).encode())
        signed = jwt.encode({"alg": alg, "kid": key.kid}, claims, secret, algorithms=[alg])
    refused(client_credentials(signed), alg, "never none, never HMAC")


def test_iss_must_be_the_client(jwt_client, key):
    refused(client_credentials(assertion(jwt_client.client_id, key, iss="someone-else")), "iss and sub")


def test_a_body_client_id_naming_another_client_is_refused(jwt_client, key):
    refused(client_credentials(assertion(jwt_client.client_id, key), client_id="another-client"), "client_id")


def test_a_secret_client_cannot_use_an_assertion(make_client, key):
    client, _secret = make_client("Secret app", scope=["read"], jwks=public_jwks(key))
    refused(client_credentials(assertion(client.client_id, key)), "not registered for private_key_jwt")


def test_a_private_key_jwt_client_cannot_use_a_secret(jwt_client, key):
    # Switched from a secret to keys: the secret it kept no longer authenticates it.
    client, secret = services.create_client(
        name="Was secret", actor=Actor.system("tests"), grant_types=["client_credentials"], scope=["read"]
    )
    services.update_client(
        client,
        actor=Actor.system("tests"),
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(key),
    )
    data = {"grant_type": "client_credentials", "scope": "read"}
    response = form(
        HttpClient(), "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret)
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert client_credentials(assertion(client.client_id, key)).status_code == 200


def test_one_method_per_request(jwt_client, key, make_client):
    other, secret = make_client("Secret app", scope=["read"])
    data = {"grant_type": "client_credentials", **assertion_fields(assertion(jwt_client.client_id, key))}
    both = form(HttpClient(), "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(other.client_id, secret))
    assert both.status_code == 400 and "one client authentication method" in both.json()["error_description"]
    with_secret = client_credentials(assertion(jwt_client.client_id, key), client_secret="x")
    assert with_secret.status_code == 400


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"client_assertion_type": "urn:wrong", "client_assertion": "a.b.c"}, ["client_assertion_type"]),
        ({"client_assertion_type": ASSERTION_TYPE}, ["missing"]),
        ({"client_assertion_type": ASSERTION_TYPE, "client_assertion": "not-a-jwt"}, ["signed JWT"]),
        ({"client_assertion_type": ASSERTION_TYPE, "client_assertion": "a.b.c"}, []),
        ({"client_assertion_type": ASSERTION_TYPE, "client_assertion": "x" * 9000}, ["8192"]),
        (
            {"client_assertion_type": ASSERTION_TYPE, "client_assertion": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"},
            ["sub"],
        ),
    ],
)
def test_malformed_assertions_are_refused_not_crashed_on(db, fields, words):
    response = form(HttpClient(), "/oauth/token", {"grant_type": "client_credentials", **fields})
    refused(response, *words)


def test_an_assertion_for_an_unknown_client_is_refused(db, key):
    refused(client_credentials(assertion("no-such-client", key)), "does not exist")


def test_failures_are_client_authentication_failures(jwt_client, key, failures):
    signed = assertion(jwt_client.client_id, key, aud="https://elsewhere.example")
    refused(client_credentials(signed))
    assert len(failures) == 1
    assert failures[0]["client_id"] == jwt_client.client_id  # read from the assertion's sub
    assert failures[0]["method"] == "private_key_jwt"
    assert "aud" in failures[0]["reason"]


def test_failed_assertions_count_towards_the_client_lockout(jwt_client, key, settings):
    settings.OAUTH2_RATE_LIMITS = {"auth_failures_client_ip": "3/900"}
    for _ in range(3):
        refused(client_credentials(assertion(jwt_client.client_id, key, aud="https://elsewhere.example")))
    locked = client_credentials(assertion(jwt_client.client_id, key))
    assert locked.status_code == 429


def test_assertions_in_the_url_are_refused(jwt_client, key):
    query = urlencode(assertion_fields(assertion(jwt_client.client_id, key)))
    response = form(HttpClient(), "/oauth/token?" + query, {"grant_type": "client_credentials"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_without_the_replay_cache_assertions_are_refused(jwt_client, key, monkeypatch):
    from django.core.cache import caches

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(caches["default"], "add", broken)
    refused(client_credentials(assertion(jwt_client.client_id, key)), "replay")
