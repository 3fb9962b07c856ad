"""A few of tests/oidc's OpenID Foundation modules again, over real HTTP against the live server
(requests, not Django's test client): the issuer is the URL the server is reached at, the JWKS is
fetched and cached the way a relying party caches it, and every endpoint the discovery document
names must answer there. ID tokens are checked by this module's own relying-party code (joserfc;
OIDC Core §3.1.3.7), not by the server's.
"""

import base64
import hashlib
import secrets
import time
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from tests.interop.conftest import OIDC_SCOPES
from tests.security.conftest import REDIRECT_URI

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


class RelyingParty:
    """A confidential client's view of the provider: discovery once, the JWKS cached until an
    ID token names a kid it does not hold (then fetched again, once)."""

    def __init__(self, metadata: dict, client_id: str, secret: str):
        self.metadata, self.client_id, self.secret = metadata, client_id, secret
        self.jwks_fetches = 0
        self.jwks = self.fetch_jwks()

    def fetch_jwks(self) -> dict:
        response = requests.get(self.metadata["jwks_uri"], timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
        self.jwks_fetches += 1
        return response.json()

    def kids(self) -> set[str]:
        return {key["kid"] for key in self.jwks["keys"]}

    def sign_in(self, agent, *, scope="openid profile email") -> tuple[dict, str]:
        nonce = secrets.token_urlsafe(16)
        code, verifier = agent.code(self.client_id, scope=scope, nonce=nonce)
        response = requests.post(
            self.metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=(self.client_id, self.secret),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
        return response.json(), nonce

    def verify(self, id_token: str, *, nonce=None, access_token=None) -> dict:
        """OIDC Core §3.1.3.7 as a relying party applies it."""
        kid = extract_compact(id_token.encode()).protected["kid"]
        if kid not in self.kids():
            self.jwks = self.fetch_jwks()
        algorithms = self.metadata["id_token_signing_alg_values_supported"]
        token = jwt.decode(id_token, KeySet.import_key_set(self.jwks), algorithms=algorithms)
        claims = token.claims
        assert token.header["alg"] in algorithms and token.header["alg"] != "none"
        assert claims["iss"] == self.metadata["issuer"]
        assert claims["aud"] == self.client_id or self.client_id in claims["aud"]
        now = time.time()
        assert claims["iat"] <= now + 5 and claims["exp"] > now
        if nonce is not None:
            assert claims["nonce"] == nonce
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode()).digest()[:16]
            assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return claims


@pytest.fixture
def rp(op, make_client):
    client, secret = make_client("Live RP", scope=OIDC_SCOPES)
    return RelyingParty(op.metadata, client.client_id, secret)


def test_oidcc_server(rp, signed_in_agent, alice):
    tokens, nonce = rp.sign_in(signed_in_agent)
    assert tokens["token_type"] == "Bearer"
    claims = rp.verify(tokens["id_token"], nonce=nonce, access_token=tokens["access_token"])
    assert claims["sub"] == str(alice.pk) and isinstance(claims["auth_time"], int)


def test_oidcc_discovery_endpoint_verification(op):
    """Config OP: the issuer is the URL the document was fetched from, the JWKS is reachable,
    and every endpoint the document names answers on that origin (a refusal, never a 404 or a
    5xx): the ones a client calls without credentials say so the protocol's way."""
    metadata = op.metadata
    assert metadata["issuer"] == op.url
    response = requests.get(op.url + "/.well-known/openid-configuration", timeout=10)
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    # The RFC 8414 document agrees on every field the two share.
    oauth = requests.get(op.url + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert {k: v for k, v in metadata.items() if k in oauth} == oauth

    urls = {k: v for k, v in metadata.items() if isinstance(v, str) and v.startswith("http")}
    assert urls.pop("issuer") == op.url
    for name, url in urls.items():
        assert url.startswith(op.url + "/"), (name, url)

    def answer(name, method="get", **kwargs):
        return requests.request(method, urls.pop(name), timeout=10, allow_redirects=False, **kwargs)

    jwks = answer("jwks_uri")
    assert jwks.status_code == 200 and jwks.json()["keys"]
    assert all({"kid", "use", "alg", "kty"} <= set(key) for key in jwks.json()["keys"])
    assert not any("d" in key or "p" in key for key in jwks.json()["keys"])  # public halves only
    assert "max-age=" in jwks.headers["Cache-Control"]
    page = answer("authorization_endpoint")  # no client: an error page for the person, no redirect
    assert page.status_code == 400 and "Location" not in page.headers
    for name in (
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "device_authorization_endpoint",
    ):
        refusal = answer(name, "post", data={})
        assert refusal.status_code in (400, 401) and "error" in refusal.json(), (name, refusal.text)
    userinfo = answer("userinfo_endpoint")
    assert userinfo.status_code == 401 and userinfo.headers["WWW-Authenticate"].startswith("Bearer")
    if "registration_endpoint" in urls:
        registration = answer("registration_endpoint", "post", json={})
        assert registration.status_code in (400, 401) and "error" in registration.json()
    # RP-Initiated Logout with no session and no hint: a signed-out page, no redirect.
    ended = answer("end_session_endpoint")
    assert ended.status_code == 200 and "Location" not in ended.headers
    assert "Content-Security-Policy" in ended.headers
    assert answer("service_documentation").status_code == 200
    assert urls == {}, f"endpoints this test does not call yet: {sorted(urls)}"


def test_oidcc_userinfo_get(rp, signed_in_agent):
    tokens, _ = rp.sign_in(signed_in_agent)
    claims = rp.verify(tokens["id_token"])
    response = requests.get(
        rp.metadata["userinfo_endpoint"],
        headers={"Authorization": "Bearer " + tokens["access_token"]},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["sub"] == claims["sub"]
    assert body["email"] == "alice@example.com" and body["name"] == "Alice Liddell"


def test_oidcc_server_rotate_keys(rp, signed_in_agent):
    """The keys rotate (the command, twice: publish a next key, then activate it) while the RP
    holds the JWKS it fetched before: tokens signed before still verify (the old key stays
    published), the new token names a kid the RP does not hold, and one refetch finds it."""
    before, _ = rp.sign_in(signed_in_agent)
    old_kid = extract_compact(before["id_token"].encode()).protected["kid"]
    assert rp.kids() == {old_kid} and rp.jwks_fetches == 1
    rp.verify(before["id_token"])

    call_command("rotate_signing_keys", "--now", stdout=StringIO())
    call_command("rotate_signing_keys", "--now", stdout=StringIO())

    after, nonce = rp.sign_in(signed_in_agent)
    new_kid = extract_compact(after["id_token"].encode()).protected["kid"]
    assert new_kid != old_kid and new_kid not in rp.kids()
    claims = rp.verify(after["id_token"], nonce=nonce, access_token=after["access_token"])
    assert rp.jwks_fetches == 2 and {old_kid, new_kid} <= rp.kids()
    assert claims["sub"] == rp.verify(before["id_token"])["sub"]
    # The cached JWKS alone does not verify the new token (the refetch was needed).
    stale = KeySet.import_key_set({"keys": [k for k in rp.jwks["keys"] if k["kid"] != new_kid]})
    with pytest.raises(JoseError):
        jwt.decode(after["id_token"], stale, algorithms=["RS256"])
