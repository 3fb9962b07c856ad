"""Small helpers for driving the protocol endpoints with Django's test client."""

import base64
import hashlib
import json
import secrets
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

REDIRECT_URI = "https://app.example.com/callback"


def form(http, path: str, data: dict, **extra):
    """POST `data` form-urlencoded, as OAuth clients do (RFC 6749 §4.1.3)."""
    return http.post(path, urlencode(data), content_type="application/x-www-form-urlencoded", **extra)


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(client_id: str, challenge: str | None, *, scope="profile", state="xyz", **extra) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "scope": scope}
    if state:
        params["state"] = state
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return "/oauth/authorize?" + urlencode(params)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(http, client_id: str, *, scope="profile", state="xyz") -> tuple[str, str]:
    """Run the consent step as the logged-in user of `http`; return (code, verifier)."""
    verifier, challenge = pkce_pair()
    url = authorize_url(client_id, challenge, scope=scope, state=state)
    response = http.get(url)
    if response.status_code == 200:
        response = http.post(url, {"confirm": "yes"})
    assert response.status_code == 302, response.content[:500]
    params = query_of(response["Location"])
    assert "code" in params, params
    return params["code"], verifier


def exchange_code(http, client_id: str, secret: str | None, code: str, verifier: str):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    if secret is None:
        data["client_id"] = client_id
        return form(http, "/oauth/token", data)
    return form(http, "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(client_id, secret))


def redis_cache_settings(url: str, name: str) -> dict:
    """A Django cache on the Redis at `url`, configured as production configures it
    (oauth_console/settings/base.py), under a key prefix of its own."""
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": f"test-{name}-{uuid.uuid4().hex}",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }


def register_with_token(http, body: dict, token: str):
    """POST `body` to RFC 7591 registration with an initial access token, over https."""
    return http.post(
        "/oauth/register",
        json.dumps(body),
        content_type="application/json",
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def key_client_sender(http, make_client):
    """A private_key_jwt client (its keys inline) and a function that asks for a client_credentials
    token with a new assertion each call: (client, send)."""
    from tests.oidc.test_private_key_jwt import assertion, assertion_fields, public_jwks, rp_key

    key = rp_key()
    app, _ = make_client("Key app", token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(key))

    def send():
        data = {
            "grant_type": "client_credentials",
            "scope": "read",
            **assertion_fields(assertion(app.client_id, key)),
        }
        return form(http, "/oauth/token", data)

    return app, send
