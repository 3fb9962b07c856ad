"""Helpers that drive the example app like a client application would."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

REDIRECT_URI = "https://app.example.com/callback"
CLIENT_ID = "client-one"
CLIENT_SECRET = "secret-one"


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    """Test-client kwargs for `Authorization: Basic` credentials."""
    raw = f"{client_id}:{secret}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def bearer(access_token: str) -> dict[str, str]:
    """Test-client kwargs for `Authorization: Bearer` credentials."""
    return {"HTTP_AUTHORIZATION": f"Bearer {access_token}"}


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_params(client_id: str = CLIENT_ID, scope: str = "profile read", **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "xyz-state",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect's Location (one value each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(web, scope: str = "profile read", client_id: str = CLIENT_ID) -> tuple[str, str]:
    """Run the consent step as a signed-in user; return (code, code_verifier)."""
    verifier, challenge = pkce_pair()
    params = authorize_params(client_id, scope, code_challenge=challenge, code_challenge_method="S256")
    response = web.post("/authorize/?" + "&".join(f"{k}={v}" for k, v in _quoted(params)), {"confirm": "yes"})
    assert response.status_code == 302, response.content
    query = query_of(response["Location"])
    assert "code" in query, query
    return query["code"], verifier


def _quoted(params: dict[str, str]):
    from urllib.parse import quote

    return [(quote(k, safe=""), quote(v, safe="")) for k, v in params.items()]


def url_with(path: str, params: dict[str, str]) -> str:
    """`path` with `params` URL-encoded as its query."""
    return path + "?" + "&".join(f"{k}={v}" for k, v in _quoted(params))


def exchange(api, code: str, verifier: str, **extra) -> object:
    """POST the code to the token endpoint with Basic client credentials."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier:
        data["code_verifier"] = verifier
    headers = extra.pop("headers", None) or basic()
    data.update(extra)
    return api.post("/token/", data, content_type="application/x-www-form-urlencoded", **headers)


def form(data: dict[str, str]) -> str:
    """URL-encode `data` as a form body."""
    from urllib.parse import urlencode

    return urlencode(data)
