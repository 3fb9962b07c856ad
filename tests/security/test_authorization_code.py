"""RFC 9700 §4.2 / §4.5 and RFC 6749 §4.1.2, §10.5: authorization code attacks (live server)."""

import pytest
import requests
from django.utils import timezone

from server.models import AuthorizationCode, Token
from tests.security.conftest import basic, redeem

pytestmark = pytest.mark.django_db(transaction=True)


def api_me(live, access_token):
    return requests.get(live + "/api/me", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def test_authorization_code_reuse_is_refused_and_revokes_what_it_issued(live, live_browser, confidential):
    app, secret = confidential
    code, verifier = live_browser.code(app.client_id, scope="profile")
    first = redeem(live, app.client_id, secret, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert api_me(live, tokens["access_token"]).status_code == 200

    replay = redeem(live, app.client_id, secret, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The tokens the code issued, and their refresh token, are dead.
    assert api_me(live, tokens["access_token"]).status_code == 401
    refresh = requests.post(
        live + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=basic(app.client_id, secret),
        timeout=10,
    )
    assert refresh.status_code == 400
    assert Token.objects.count() == 1
    assert Token.objects.get().revoked_at is not None


def test_authorization_code_use_by_another_client_is_refused(live, live_browser, confidential, make_client):
    app, _ = confidential
    thief, thief_secret = make_client("Thief")
    code, verifier = live_browser.code(app.client_id)
    response = redeem(live, thief.client_id, thief_secret, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 0


def test_authorization_code_use_with_another_redirect_uri_is_refused(live, live_browser, make_client):
    app, secret = make_client(
        "Two callbacks", redirect_uris=["https://app.example.com/callback", "https://app.example.com/other"]
    )
    code, verifier = live_browser.code(app.client_id)
    response = redeem(
        live, app.client_id, secret, code, verifier, redirect_uri="https://app.example.com/other"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    response = redeem(live, app.client_id, secret, code, verifier, redirect_uri="")
    assert response.status_code == 400
    assert Token.objects.count() == 0


def test_authorization_code_after_expiry_is_refused(live, live_browser, confidential):
    app, secret = confidential
    code, verifier = live_browser.code(app.client_id)
    # Time passes: the code's lifetime (60 s by default) is over.
    AuthorizationCode.objects.update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    response = redeem(live, app.client_id, secret, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 0


def test_authorization_code_guessing_finds_nothing(live, confidential):
    app, secret = confidential
    for guess in ("", "a", "oac_" + "A" * 43, "x" * 5000):
        response = redeem(live, app.client_id, secret, guess, "v" * 43)
        assert response.status_code == 400
        assert response.json()["error"] in {"invalid_grant", "invalid_request"}
    assert Token.objects.count() == 0
