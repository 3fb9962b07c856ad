"""A real HTTP client against a live server: every flow a client app runs, over the wire."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from server.models import Token
from tests.server.helpers import REDIRECT_URI, authorize_url, pkce_pair

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(make_client):
    client, secret = make_client("Live app")
    return client.client_id, secret


def _login(session: requests.Session, base: str, next_url: str) -> requests.Response:
    page = session.get(f"{base}/accounts/login/", params={"next": next_url}, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        f"{base}/accounts/login/",
        data={
            "username": "alice",
            "password": "alice-password-123",
            "csrfmiddlewaretoken": token,
            "next": next_url,
        },
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )


def _consent(session: requests.Session, base: str, url: str) -> dict[str, str]:
    page = session.get(base + url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text[:300]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    decision = session.post(
        base + url,
        data={"csrfmiddlewaretoken": token, "confirm": "yes"},
        headers={"Referer": base + url},
        allow_redirects=False,
        timeout=10,
    )
    assert decision.status_code == 302, decision.text[:300]
    location = decision.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_discovery_then_code_flow_refresh_revoke_introspect(live_server, app, end_user):
    base = live_server.url
    client_id, secret = app
    metadata = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["issuer"] == base

    browser = requests.Session()
    verifier, challenge = pkce_pair()
    url = authorize_url(client_id, challenge, scope="profile email", state="live-state")
    login = _login(browser, base, url)
    assert login.status_code == 302 and login.headers["Location"] == url
    params = _consent(browser, base, url)
    assert params["state"] == "live-state"
    assert params["iss"] == metadata["issuer"]

    tokens = requests.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["Cache-Control"] == "no-store"
    body = tokens.json()

    me = requests.get(
        f"{base}/api/me", headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10
    )
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "alice"

    refreshed = requests.post(
        metadata["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        auth=(client_id, secret),
        timeout=10,
    ).json()
    assert refreshed["refresh_token"] != body["refresh_token"]

    introspected = requests.post(
        metadata["introspection_endpoint"],
        data={"token": refreshed["access_token"]},
        auth=(client_id, secret),
        timeout=10,
    ).json()
    assert introspected["active"] is True and introspected["username"] == "alice"

    revoked = requests.post(
        metadata["revocation_endpoint"],
        data={"token": refreshed["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert revoked.status_code == 200
    after = requests.post(
        metadata["introspection_endpoint"],
        data={"token": refreshed["access_token"]},
        auth=(client_id, secret),
        timeout=10,
    ).json()
    assert after == {"active": False}
    assert not Token.objects.filter(revoked_at__isnull=True).exists()


def test_client_credentials_and_rfc_errors_over_http(live_server, app):
    base = live_server.url
    client_id, secret = app
    ok = requests.post(
        f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
    )
    assert ok.status_code == 200 and ok.json()["token_type"].lower() == "bearer"

    wrong = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, "wrong"),
        timeout=10,
    )
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    assert wrong.json()["error"] == "invalid_client"

    unsupported = requests.post(
        f"{base}/oauth/token", data={"grant_type": "urn:nope"}, auth=(client_id, secret), timeout=10
    )
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"

    repeated = requests.post(
        f"{base}/oauth/token",
        data=[("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
        auth=(client_id, secret),
        timeout=10,
    )
    assert repeated.status_code == 400 and repeated.json()["error"] == "invalid_request"

    json_body = requests.post(
        f"{base}/oauth/token", json={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
    )
    assert json_body.status_code == 400 and json_body.json()["error"] == "invalid_request"

    huge = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "x": "a" * 3_000_000},
        auth=(client_id, secret),
        timeout=30,
    )
    # RFC 6749 §5.2 fixes the error (invalid_request, 400) but an over-long body is also what
    # RFC 9110 §15.5.14 (413 Content Too Large) is for: either status is right.
    assert huge.status_code in (400, 413) and huge.json()["error"] == "invalid_request"

    not_utf8 = requests.post(
        f"{base}/oauth/token",
        data=b"grant_type=client_credentials&scope=%FF%FE",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert not_utf8.status_code == 400 and not_utf8.json()["error"] in {"invalid_request", "invalid_scope"}

    broken_basic = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!notbase64"},
        timeout=10,
    )
    assert broken_basic.status_code == 401 and broken_basic.json()["error"] == "invalid_client"
    assert Token.objects.count() == 1
