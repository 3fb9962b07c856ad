"""Fixtures of the security suite: live HTTP sessions, flows driven over the wire, cache backends."""

import base64
import hashlib
import os
import secrets
import time
import uuid
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.db import connection

REDIRECT_URI = "https://app.example.com/callback"
# The Redis of the tests (tests/conftest.py: `redis_url`).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def basic(client_id: str, secret: str) -> tuple[str, str]:
    """requests' auth tuple for HTTP Basic client authentication."""
    return (client_id, secret)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class LiveBrowser:
    """An end user's browser against the live server: signs in, consents, collects codes."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        self.http = requests.Session()
        page = self.http.get(base_url + "/accounts/login/", timeout=10)
        assert page.status_code == 200, page.status_code
        response = self.http.post(
            base_url + "/accounts/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
            },
            headers={"Referer": base_url + "/accounts/login/"},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:500]

    def authorize(self, params: dict, *, confirm: bool = True) -> requests.Response:
        """GET the authorization endpoint, then approve the consent page if one is shown."""
        url = self.base_url + "/oauth/authorize?" + urlencode(params)
        response = self.http.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200 and confirm and 'name="confirm"' in response.text:
            response = self.http.post(
                url,
                data={"confirm": "yes", "csrfmiddlewaretoken": self.http.cookies["csrftoken"]},
                headers={"Referer": url},
                allow_redirects=False,
                timeout=10,
            )
        return response

    def code(self, client_id: str, *, scope: str = "profile", redirect_uri: str = REDIRECT_URI, **extra):
        """Run the code flow's front channel with PKCE S256; return (code, verifier)."""
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": "s-" + secrets.token_hex(4),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        response = self.authorize(params)
        assert response.status_code == 302, (response.status_code, response.text[:500])
        found = query_of(response.headers["Location"])
        assert "code" in found, found
        return found["code"], verifier


@pytest.fixture
def live(live_server):
    """The live server's base URL."""
    return live_server.url


@pytest.fixture
def live_browser(live, end_user):
    return LiveBrowser(live, "alice", "alice-password-123")


@pytest.fixture
def confidential(make_client):
    return make_client("Confidential app")


def token_request(base_url: str, data: dict, *, auth=None, **kwargs) -> requests.Response:
    return requests.post(base_url + "/oauth/token", data=data, auth=auth, timeout=15, **kwargs)


def redeem(base_url: str, client_id: str, secret: str | None, code: str, verifier: str, **overrides):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **overrides,
    }
    if secret is None:
        data.setdefault("client_id", client_id)
        return token_request(base_url, data)
    return token_request(base_url, data, auth=basic(client_id, secret))


@pytest.fixture(params=["locmem", "redis"])
def rate_limit_cache(request, settings, monkeypatch):
    """Run a test with the rate-limit counters in local memory, then in the real Redis (db 15,
    a key prefix of its own so that runs never see each other's counters).

    The limiter's clock is pinned one second into an hour: its windows are fixed (60 s to an
    hour, all dividing 3600), and a test whose requests straddled a window boundary would see
    its counter start again from zero."""
    from server import ratelimit

    pinned = (time.time() // 3600) * 3600 + 1
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: pinned, monotonic=time.monotonic))
    if request.param == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": f"test-security-{uuid.uuid4().hex}",
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": f"security-{uuid.uuid4().hex}",
            }
        }
    return request.param


@pytest.fixture
def initial_access_token(db):
    """An operator's initial access token for RFC 7591 registration (scope profile, 10 uses)."""
    from server import services
    from server.actors import Actor

    _row, value = services.create_initial_access_token(
        actor=Actor.system("tests"), max_registrations=10, allowed_scope=["profile"]
    )
    return value


@pytest.fixture
def limits(settings):
    """Set some rate limits for one test; every other limit stays as configured."""

    def set_limits(**rates):
        settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, **rates}

    return set_limits
