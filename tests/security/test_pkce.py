"""RFC 9700 §2.1.1 / §4.8: PKCE attacks, black-box against the live server."""

import pytest

from server import services
from server.models import AuthorizationCode, Token
from tests.security.conftest import REDIRECT_URI, pkce_pair, query_of, redeem

pytestmark = pytest.mark.django_db(transaction=True)


def authorize(live_browser, client_id, **pkce):
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "profile",
        "state": "st",
        **pkce,
    }
    return live_browser.authorize(params)


def assert_no_code(response):
    location = response.headers.get("Location", "")
    assert "code=" not in location
    if location:
        assert query_of(location)["error"] == "invalid_request"
    else:
        assert response.status_code == 400
    assert AuthorizationCode.objects.count() == 0


def test_pkce_missing_challenge_is_refused(live_browser, confidential):
    app, _ = confidential
    assert_no_code(authorize(live_browser, app.client_id))


def test_pkce_plain_method_is_refused(live_browser, confidential):
    app, _ = confidential
    verifier, _ = pkce_pair()
    response = authorize(live_browser, app.client_id, code_challenge=verifier, code_challenge_method="plain")
    assert_no_code(response)


def test_pkce_unknown_method_is_refused(live_browser, confidential):
    app, _ = confidential
    _, challenge = pkce_pair()
    response = authorize(live_browser, app.client_id, code_challenge=challenge, code_challenge_method="S512")
    assert_no_code(response)


def test_pkce_wrong_verifier_is_invalid_grant(live, live_browser, confidential):
    app, secret = confidential
    code, _ = live_browser.code(app.client_id)
    other_verifier, _ = pkce_pair()
    response = redeem(live, app.client_id, secret, code, other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 0


def test_pkce_missing_verifier_is_refused(live, live_browser, confidential):
    app, secret = confidential
    code, _ = live_browser.code(app.client_id)
    response = redeem(live, app.client_id, secret, code, "")
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}
    assert Token.objects.count() == 0


def test_pkce_downgrade_verifier_without_challenge_is_refused(live, confidential, end_user):
    """RFC 9700 §4.8.2: a code issued without a challenge must not be redeemed with a verifier
    (an attacker injecting such a code would otherwise pass PKCE)."""
    app, secret = confidential
    services.store_authorization_code(
        code="oac_downgraded-code-without-challenge",
        client=app,
        user=end_user,
        redirect_uri=REDIRECT_URI,
        scope="profile",
    )
    verifier, _ = pkce_pair()
    response = redeem(live, app.client_id, secret, "oac_downgraded-code-without-challenge", verifier)
    assert response.status_code == 400, response.text
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}
    assert Token.objects.count() == 0


def test_pkce_code_without_challenge_is_refused_even_without_verifier(live, confidential, end_user):
    """A challenge-less code (issued before PKCE was required) is useless now that it is."""
    app, secret = confidential
    services.store_authorization_code(
        code="oac_legacy-code-without-challenge",
        client=app,
        user=end_user,
        redirect_uri=REDIRECT_URI,
        scope="profile",
    )
    response = redeem(live, app.client_id, secret, "oac_legacy-code-without-challenge", "")
    assert response.status_code == 400, response.text
    assert Token.objects.count() == 0


def test_pkce_verifier_replay_on_a_new_code_is_refused(live, live_browser, confidential):
    app, secret = confidential
    first_code, first_verifier = live_browser.code(app.client_id)
    assert redeem(live, app.client_id, secret, first_code, first_verifier).status_code == 200
    second_code, _ = live_browser.code(app.client_id)
    response = redeem(live, app.client_id, secret, second_code, first_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 1
