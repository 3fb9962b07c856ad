"""authlib's own relying party against a live server of ours: discovery, PKCE, the code exchange,
the ID token checked the way authlib's OpenID integrations check it (joserfc against the JWKS
the discovery document names; authlib's `CodeIDToken` for iss, aud, exp, iat, nonce, at_hash),
UserInfo, refresh. The person's browser is a requests session (sign in, approve the consent page).
"""

from io import StringIO
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.django_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from django.core.management import call_command
from joserfc import jwt
from joserfc.errors import InvalidClaimError, MissingClaimError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry, extract_compact

from tests.interop.conftest import OIDC_SCOPES

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

REDIRECT_URI = "https://app.example.com/callback"
SCOPE = "openid profile email"


@pytest.fixture
def rp(make_client):
    client, secret = make_client("authlib RP", scope=OIDC_SCOPES)
    return client.client_id, secret


def front_channel(agent, url: str) -> str:
    """The signed-in person follows `url` to our authorization endpoint and approves: the
    redirect back to the client (its Location)."""
    response = agent.authorize(dict(parse_qsl(urlsplit(url).query)))
    assert response.status_code == 302, (response.status_code, response.text[:400])
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    return location


def validate_id_token(op, client_id: str, id_token: str, *, nonce=None, access_token=None) -> CodeIDToken:
    """What authlib's OpenIDMixin.parse_id_token does, against the JWKS fetched from jwks_uri."""
    metadata = op.metadata
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(
        id_token,
        keys,
        registry=JWSRegistry(algorithms=metadata["id_token_signing_alg_values_supported"]),
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": client_id},
        },
        {"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate(leeway=5)
    return claims


def test_authlib_oauth2session_discovery_pkce_id_token_userinfo_refresh(op, rp, signed_in_agent, alice):
    client_id, secret = rp
    metadata = op.metadata
    assert metadata["issuer"] == op.url
    assert "S256" in metadata["code_challenge_methods_supported"]

    session = OAuth2Session(
        client_id, secret, scope=SCOPE, redirect_uri=REDIRECT_URI, code_challenge_method="S256"
    )
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    location = front_channel(signed_in_agent, url)
    back = dict(parse_qsl(urlsplit(location).query))
    assert back["state"] == state and back["iss"] == metadata["issuer"]

    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=location, state=state, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer" and set(token["scope"].split()) == set(SCOPE.split())
    claims = validate_id_token(
        op, client_id, token["id_token"], nonce=nonce, access_token=token["access_token"]
    )
    assert claims["sub"] == str(alice.pk) and "at_hash" in claims and "auth_time" in claims
    # The checks can fail: another nonce, another access token, another audience.
    with pytest.raises(InvalidClaimError, match="nonce"):
        validate_id_token(op, client_id, token["id_token"], nonce="not-the-nonce")
    with pytest.raises(InvalidClaimError, match="at_hash"):
        validate_id_token(op, client_id, token["id_token"], access_token="another-token")
    with pytest.raises(InvalidClaimError, match="aud"):
        validate_id_token(op, "someone-else", token["id_token"])

    userinfo = session.get(metadata["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["sub"] == claims["sub"]
    assert userinfo.json()["email"] == "alice@example.com" and userinfo.json()["name"] == "Alice Liddell"

    refreshed = session.refresh_token(metadata["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    again = validate_id_token(op, client_id, refreshed["id_token"], access_token=refreshed["access_token"])
    assert again["sub"] == claims["sub"] and again["auth_time"] == claims["auth_time"]
    assert "nonce" not in again
    # The session now carries the new token: UserInfo answers with it.
    assert session.get(metadata["userinfo_endpoint"], timeout=10).json()["sub"] == claims["sub"]


def test_authlib_openid_integration_keeps_verifying_across_a_key_rotation(op, rp, signed_in_agent, alice):
    """oidcc-server-rotate-keys, with authlib's own OpenID code (the integration's registry app:
    server_metadata_url, PKCE, nonce, parse_id_token with its JWKS cache and refetch on an
    unknown kid). The keys rotate while the app holds the old JWKS: the old key stays
    published, the new one is found by the refetch."""
    client_id, secret = rp
    oauth = OAuth()
    app = oauth.register(
        "ours",
        client_id=client_id,
        client_secret=secret,
        server_metadata_url=op.url + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
    )

    def sign_in():
        request = app.create_authorization_url(REDIRECT_URI)
        back = dict(parse_qsl(urlsplit(front_channel(signed_in_agent, request["url"])).query))
        assert back["state"] == request["state"]
        token = app.fetch_access_token(
            redirect_uri=REDIRECT_URI, code=back["code"], code_verifier=request["code_verifier"]
        )
        return token, app.parse_id_token(token, nonce=request["nonce"])

    first_token, first = sign_in()
    cached_kids = {key["kid"] for key in app.server_metadata["jwks"]["keys"]}
    assert first["sub"] == str(alice.pk)

    # The first run publishes a next key, the second activates it (the old one is retired).
    call_command("rotate_signing_keys", "--now", stdout=StringIO())
    call_command("rotate_signing_keys", "--now", stdout=StringIO())
    second_token, second = sign_in()
    assert second["sub"] == first["sub"]
    refetched_kids = {key["kid"] for key in app.server_metadata["jwks"]["keys"]}
    assert refetched_kids > cached_kids  # a new signing key, the old one still published
    new_kid = extract_compact(second_token["id_token"].encode()).protected["kid"]
    assert new_kid not in cached_kids and new_kid in refetched_kids
    # The token signed before the rotation still verifies with the refreshed key set.
    assert app.parse_id_token(first_token, nonce=first["nonce"])["sub"] == first["sub"]
    # And a wrong nonce is still refused by authlib.
    with pytest.raises((InvalidClaimError, MissingClaimError)):
        app.parse_id_token(second_token, nonce="another-nonce")


@pytest.mark.parametrize(
    ("client_kwargs", "session_kwargs"),
    [
        pytest.param({"id_token_signed_response_alg": "ES256"}, {}, id="ES256-client_secret_basic"),
        pytest.param({}, {"token_endpoint_auth_method": "client_secret_post"}, id="RS256-client_secret_post"),
        pytest.param(
            {"client_type": "public", "grant_types": ["authorization_code", "refresh_token"]},
            {"token_endpoint_auth_method": "none"},
            id="public-client-none",
        ),
    ],
)
def test_authlib_oauth2session_other_client_shapes(
    op, make_client, signed_in_agent, alice, client_kwargs, session_kwargs
):
    """The same flow for an ES256 client, client_secret_post and a public client (PKCE only)."""
    client, secret = make_client("authlib RP", scope=OIDC_SCOPES, **client_kwargs)
    metadata = op.metadata
    session = OAuth2Session(
        client.client_id,
        secret,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        **session_kwargs,
    )
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    location = front_channel(signed_in_agent, url)
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=location, state=state, code_verifier=verifier
    )
    claims = validate_id_token(
        op, client.client_id, token["id_token"], nonce=nonce, access_token=token["access_token"]
    )
    assert claims.header["alg"] == client.id_token_signed_response_alg
    assert claims["sub"] == str(alice.pk)
    refreshed = session.refresh_token(metadata["token_endpoint"])
    again = validate_id_token(
        op, client.client_id, refreshed["id_token"], access_token=refreshed["access_token"]
    )
    assert again["sub"] == claims["sub"]
