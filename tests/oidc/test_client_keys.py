"""A client's keys for private_key_jwt: registered inline (`jwks`) or at a `jwks_uri` the server
fetches through its SSRF guard; validated the same at every door (services, RFC 7591/7592)."""

import json
import re
import time
import warnings

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client as HttpClient
from joserfc.errors import SecurityWarning
from joserfc.jwk import RSAKey

from server import policies, services
from server.actors import Actor
from tests.oidc.test_private_key_jwt import assertion, client_credentials, public_jwks, refused, rp_key

REGISTER = "/oauth/register"
with warnings.catch_warnings():  # joserfc warns on importing a small key; that is the point
    warnings.simplefilter("ignore", SecurityWarning)
    SMALL_RSA_KEY = RSAKey.import_key(rsa.generate_private_key(65537, 1024).public_key()).as_dict(
        private=False
    )


def _create(**kwargs):
    kwargs.setdefault("grant_types", ["client_credentials"])
    kwargs.setdefault("scope", ["read"])
    kwargs.setdefault("token_endpoint_auth_method", "private_key_jwt")
    return services.create_client(name="Key app", actor=Actor.system("tests"), **kwargs)


# --- a jwks_uri ------------------------------------------------------------------------------


@pytest.fixture
def served_keys(https_server):
    """The RP's key set served at https://127.0.0.1:<port>/jwks, one hour of max-age."""

    def serve(*keys, max_age=3600):
        body = json.dumps(public_jwks(*keys)).encode()
        headers = {"Content-Type": "application/json", "Cache-Control": f"public, max-age={max_age}"}
        https_server.routes["/jwks"] = (200, headers, body)

    return serve


def test_keys_from_a_jwks_uri_authenticate_and_rotation_is_seen_after_the_cache_expires(
    db, https_server, served_keys, local_memory_cache
):
    first, second = rp_key(kid="first"), rp_key(kid="second")
    served_keys(first, max_age=600)
    client, secret = _create(jwks_uri=https_server.url("/jwks"))
    assert secret is None
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert client_credentials(assertion(client.client_id, first)).status_code == 200
        # The RP rotates: its JWK Set now holds only the second key.
        served_keys(second, max_age=600)
        traveller.shift(300)
        # Still the cached set (max-age 600): the old key still works, nothing fetched.
        assert client_credentials(assertion(client.client_id, first)).status_code == 200
        assert https_server.hits["/jwks"] == 1
        traveller.shift(301)
        # Expired: the next authentication reads the set again.
        assert client_credentials(assertion(client.client_id, second)).status_code == 200
        assert https_server.hits["/jwks"] == 2
        # The retired key: unknown now, so one refetch (the client's first) before the refusal.
        refused(client_credentials(assertion(client.client_id, first)), "first")
    assert https_server.hits["/jwks"] == 3


def test_an_unknown_kid_refetches_the_jwks_uri_once_before_refusing(
    db, https_server, served_keys, local_memory_cache
):
    first, second, third = rp_key(kid="first"), rp_key(kid="second"), rp_key(kid="third")
    served_keys(first, max_age=3600)
    client, _ = _create(jwks_uri=https_server.url("/jwks"))
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert client_credentials(assertion(client.client_id, first)).status_code == 200
        # The RP rotated in a new key before the cached copy (an hour) expired.
        served_keys(first, second, max_age=3600)
        assert client_credentials(assertion(client.client_id, second)).status_code == 200
        assert https_server.hits["/jwks"] == 2, "one refetch, for the unknown kid"
        assert client_credentials(assertion(client.client_id, second)).status_code == 200
        # An unknown kid again within the interval: refused without another fetch.
        refused(client_credentials(assertion(client.client_id, third)), "third")
        assert https_server.hits["/jwks"] == 2, "at most one refetch per client per interval"
        traveller.shift(61)
        refused(client_credentials(assertion(client.client_id, third)), "third")
        assert https_server.hits["/jwks"] == 3, "the interval passed: one more refetch"


def test_an_inline_jwks_is_never_refetched(make_client):
    key, other = rp_key(kid="mine"), rp_key(kid="unknown")
    client, _ = make_client(
        "Inline", scope=["read"], token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key)
    )
    refused(client_credentials(assertion(client.client_id, other)), "unknown")


@pytest.mark.parametrize(
    "pinned, alg, ok",
    [("ES256", "ES256", True), ("ES256", "RS256", False), ("PS256", "RS256", False), ("", "PS256", True)],
)
def test_token_endpoint_auth_signing_alg_is_honoured(make_client, pinned, alg, ok):
    rsa_key, ec_key = rp_key(kid="r"), rp_key("ES256", kid="e")
    client, _ = make_client(
        "Pinned",
        scope=["read"],
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(rsa_key, ec_key),
        token_endpoint_auth_signing_alg=pinned,
    )
    response = client_credentials(assertion(client.client_id, ec_key if alg == "ES256" else rsa_key, alg=alg))
    if ok:
        assert response.status_code == 200, response.content
    else:
        refused(response, f"registered token_endpoint_auth_signing_alg {pinned}")


def test_a_failing_jwks_uri_is_an_invalid_client_saying_why(db, https_server):
    client, _ = _create(jwks_uri=https_server.url("/jwks"))
    https_server.routes["/jwks"] = (302, {"Location": "https://169.254.169.254/"}, b"")
    refused(client_credentials(assertion(client.client_id, rp_key())), "jwks_uri", "redirect")
    https_server.routes["/jwks"] = (200, {}, b"x" * 70000)
    refused(client_credentials(assertion(client.client_id, rp_key())), "larger than")


def test_a_jwks_uri_serving_private_keys_is_refused(db, https_server):
    key = rp_key()
    https_server.routes["/jwks"] = (200, {}, json.dumps({"keys": [key.as_dict(private=True)]}).encode())
    client, _ = _create(jwks_uri=https_server.url("/jwks"))
    refused(client_credentials(assertion(client.client_id, key)), "private key members")


def test_a_jwks_uri_to_a_loopback_address_is_not_fetched_without_the_setting(db, https_server, settings):
    client, _ = _create(jwks_uri=https_server.url("/jwks"))
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = []
    refused(client_credentials(assertion(client.client_id, rp_key())), "127.0.0.1", "private")
    assert https_server.hits == {}


# --- the policy, at every door -----------------------------------------------------------------


@pytest.mark.parametrize(
    "jwks_uri, words",
    [
        ("http://keys.example.com/jwks", "https"),
        ("https://127.0.0.1/jwks", "127.0.0.1"),
        ("https://10.1.2.3/jwks", "10.1.2.3"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("https://[::1]/jwks", "::1"),
        ("javascript://keys.example.com/%0aalert(1)", "https"),
    ],
)
def test_jwks_uris_the_server_would_not_fetch_are_refused(db, jwks_uri, words):
    with pytest.raises(policies.PolicyError, match=re.escape(words)) as caught:
        _create(jwks_uri=jwks_uri)
    assert caught.value.field == "jwks_uri"


def test_private_key_members_are_refused_with_a_message_to_act_on(db):
    key = rp_key()
    with pytest.raises(policies.PolicyError, match=r"private key members .*never the private one") as caught:
        _create(jwks={"keys": [key.as_dict(private=True)]})
    assert caught.value.field == "jwks"


@pytest.mark.parametrize(
    "jwks, words",
    [
        ({"keys": []}, "1 to 10 keys"),
        ({"kty": "RSA"}, "'keys' array"),
        ({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "private key members"),
        ({"keys": [{"kty": "oct", "kid": "x"}]}, "RSA or EC"),
        ({"keys": [SMALL_RSA_KEY]}, "2048 to 8192 bits"),
        ({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}, "not a valid RSA"),
        ({"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}, "not a valid EC"),
        ("not json", "not valid JSON"),
    ],
)
def test_bad_jwk_sets_are_refused(db, jwks, words):
    with pytest.raises(policies.PolicyError, match=words):
        _create(jwks=jwks)


def test_private_key_jwt_needs_keys_and_one_source_only(db):
    with pytest.raises(policies.PolicyError, match="needs the client's public keys"):
        _create()
    with pytest.raises(policies.PolicyError, match="not both"):
        _create(jwks=public_jwks(rp_key()), jwks_uri="https://keys.example.com/jwks")


def test_client_secret_jwt_is_refused_with_the_reason(db):
    with pytest.raises(policies.PolicyError, match="keyed digests") as caught:
        _create(token_endpoint_auth_method="client_secret_jwt", jwks=None)
    assert caught.value.field == "token_endpoint_auth_method"


def test_a_public_client_cannot_use_private_key_jwt(db):
    with pytest.raises(policies.PolicyError, match="Public clients"):
        _create(
            client_type="public",
            grant_types=["authorization_code"],
            redirect_uris=["https://a.example/cb"],
            jwks=public_jwks(rp_key()),
        )


# --- RFC 7591 / 7592 -----------------------------------------------------------------------------


@pytest.fixture
def open_registration(settings, db):
    settings.OAUTH2_OPEN_REGISTRATION = True


def register(body):
    return HttpClient().post(REGISTER, data=json.dumps(body), content_type="application/json", secure=True)


def metadata(**extra):
    return {
        "client_name": "RP with keys",
        "redirect_uris": ["https://rp.example.com/callback"],
        "scope": "profile",
        "token_endpoint_auth_method": "private_key_jwt",
        **extra,
    }


def test_registration_with_jwks_issues_no_secret(open_registration):
    jwks = public_jwks(rp_key())
    response = register(metadata(jwks=jwks))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["jwks"] == jwks
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    # RFC 7592 read answers the same keys.
    read = HttpClient().get(
        body["registration_client_uri"],
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {body['registration_access_token']}",
    )
    assert read.json()["jwks"] == jwks


def test_registration_with_a_jwks_uri(open_registration):
    response = register(metadata(jwks_uri="https://rp.example.com/jwks.json"))
    assert response.status_code == 201, response.content
    assert response.json()["jwks_uri"] == "https://rp.example.com/jwks.json"


@pytest.mark.parametrize(
    "extra, words",
    [
        ({"jwks": {"keys": [rp_key().as_dict(private=True)]}}, "private key members"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "client_secret_jwt is not supported"),
        ({}, "needs the client's public keys"),
        ({"jwks_uri": "http://rp.example.com/jwks"}, "https"),
        ({"jwks_uri": "https://169.254.169.254/jwks"}, "169.254.169.254"),
        ({"jwks": "a string"}, "JSON object"),
        ({"jwks_uri": 5}, "jwks_uri must be a string"),
    ],
)
def test_registration_refuses_bad_keys_with_a_clear_error(open_registration, extra, words):
    response = register(metadata(**extra))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_client_metadata"
    assert words in body["error_description"], body["error_description"]
