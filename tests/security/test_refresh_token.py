"""RFC 9700 §4.14: refresh token attacks (live server)."""

import pytest
import requests

from server.models import Token
from tests.security.conftest import basic, redeem

pytestmark = pytest.mark.django_db(transaction=True)


def refresh(live, client_id, secret, refresh_token, **extra):
    return requests.post(
        live + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
        auth=basic(client_id, secret),
        timeout=10,
    )


def api_me(live, access_token):
    return requests.get(live + "/api/me", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


@pytest.fixture
def issued(live, live_browser, confidential):
    app, secret = confidential
    code, verifier = live_browser.code(app.client_id, scope="profile email")
    response = redeem(live, app.client_id, secret, code, verifier)
    assert response.status_code == 200
    return app, secret, response.json()


def test_refresh_token_reuse_after_rotation_revokes_the_whole_family(live, issued):
    app, secret, first = issued
    rotated = refresh(live, app.client_id, secret, first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert api_me(live, second["access_token"]).status_code == 200

    # The old refresh token comes back (stolen copy or confused client): reuse.
    reuse = refresh(live, app.client_id, secret, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # Every member of the family is dead: the newest access token and refresh token too.
    assert api_me(live, second["access_token"]).status_code == 401
    assert refresh(live, app.client_id, secret, second["refresh_token"]).status_code == 400
    family = Token.objects.all()
    assert family.count() == 2
    assert len({t.family_id for t in family}) == 1
    assert all(t.revoked_at is not None for t in family)


def test_refresh_token_use_by_another_client_is_refused(live, issued, make_client):
    app, secret, tokens = issued
    thief, thief_secret = make_client("Thief")
    response = refresh(live, thief.client_id, thief_secret, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.filter(client=thief).count() == 0
    # The real client's refresh token still works.
    assert refresh(live, app.client_id, secret, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("scope", ["profile email read", "write", "profile admin"])
def test_refresh_token_scope_escalation_is_refused(live, issued, scope):
    app, secret, tokens = issued
    response = refresh(live, app.client_id, secret, tokens["refresh_token"], scope=scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert Token.objects.count() == 1
    assert Token.objects.get().rotated_at is None  # the refresh token was not spent


def test_refresh_token_narrowing_is_allowed(live, issued):
    app, secret, tokens = issued
    response = refresh(live, app.client_id, secret, tokens["refresh_token"], scope="profile")
    assert response.status_code == 200
    assert response.json()["scope"] == "profile"
