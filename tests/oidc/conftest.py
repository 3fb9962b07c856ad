"""An OpenID relying party's view of the server, driven over HTTP with Django's test client.

The checks of an ID token are made here, independently of the server's code: the signature
against the keys `/oauth/jwks` publishes (joserfc), then iss, aud, exp, iat, nonce and at_hash
as OIDC Core §3.1.3.7 tells a relying party to.
"""

import base64
import hashlib
import time
from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from joserfc import jwt
from joserfc.jwk import KeySet

from server.models import Client
from tests.server.helpers import REDIRECT_URI, basic_auth, form, pkce_pair, query_of

ISSUER = "http://testserver"


@pytest.fixture
def rp(make_client):
    """A confidential relying party allowed openid, profile and email: (client, secret)."""
    return make_client("Relying party", scope=["openid", "profile", "email", "read"])


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(
        "alice", "alice@example.com", "alice-password-123", first_name="Alice", last_name="Liddell"
    )


@pytest.fixture
def browser(user):
    """The user's browser, signed in."""
    http = HttpClient()
    http.force_login(user)
    return http


def authorize_params(client: Client, challenge: str, **extra) -> dict:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": "st-123",
        "nonce": "n-0S6_WzA2Mj",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def authorize(browser, client: Client, **extra):
    """GET the authorization endpoint (and approve the consent page if shown): the redirect's
    query and the PKCE verifier."""
    verifier, challenge = pkce_pair()
    url = "/oauth/authorize?" + urlencode(authorize_params(client, challenge, **extra))
    response = browser.get(url)
    if response.status_code == 200 and b'name="confirm"' in response.content:
        response = browser.post(url, {"confirm": "yes"})
    assert response.status_code == 302, response.content[:400]
    return response, verifier


def token_request(client: Client, secret: str, code: str, verifier: str):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    return form(HttpClient(), "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))


def sign_in_and_get_tokens(browser, client: Client, secret: str, **extra) -> dict:
    response, verifier = authorize(browser, client, **extra)
    params = query_of(response["Location"])
    assert "code" in params, params
    token = token_request(client, secret, params["code"], verifier)
    assert token.status_code == 200, token.content
    return token.json()


def published_keys() -> KeySet:
    response = HttpClient().get("/oauth/jwks")
    assert response.status_code == 200
    return KeySet.import_key_set(response.json())


def half_hash(value: str, alg: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()  # RS256 and ES256 both hash with SHA-256
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def verify_id_token(id_token: str, client: Client, *, access_token: str | None = None, nonce=None) -> dict:
    """OIDC Core §3.1.3.7, as a relying party checks it; returns the claims."""
    token = jwt.decode(id_token, published_keys(), algorithms=["RS256", "ES256"])
    header, claims = token.header, token.claims
    assert header["alg"] == client.id_token_signed_response_alg and header["kid"]
    assert claims["iss"] == ISSUER
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert client.client_id in aud
    if len(aud) > 1:
        assert claims["azp"] == client.client_id
    now = time.time()
    assert claims["iat"] <= now + 5 and claims["exp"] > now
    assert isinstance(claims["sub"], str) and claims["sub"]
    if nonce is not None:
        assert claims.get("nonce") == nonce
    if access_token is not None:
        assert claims["at_hash"] == half_hash(access_token, header["alg"])
    return claims
