"""A client's registered OpenID Connect metadata honoured by the ID-token flow: default_max_age
(the max_age of its requests that name none) and require_auth_time (its ID tokens always carry
auth_time, so a sign-in of unknown time signs in again)."""

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from server import services
from server.actors import Actor
from server.oauth2.id_tokens import AUTH_TIME_SESSION_KEY
from tests.oidc.conftest import authorize_params, sign_in_and_get_tokens, verify_id_token
from tests.server.helpers import REDIRECT_URI, query_of

pytestmark = pytest.mark.django_db


def query(client, **extra) -> str:
    return "/oauth/authorize?" + urlencode(
        authorize_params(client, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", **extra)
    )


def signed_in_ago(browser, seconds: int) -> int:
    session = browser.session
    session[AUTH_TIME_SESSION_KEY] = int(time.time()) - seconds
    session.save()
    return session[AUTH_TIME_SESSION_KEY]


def configure(client, **settings):
    return services.update_client(client, actor=Actor.system("tests"), **settings)


def test_default_max_age_sends_an_older_sign_in_to_sign_in_again(browser, rp):
    client, secret = rp
    sign_in_and_get_tokens(browser, client, secret)  # consent given
    configure(client, default_max_age=60)
    signed_in_at = signed_in_ago(browser, 120)

    response = browser.get(query(client, prompt="none"))
    assert query_of(response["Location"])["error"] == "login_required"
    response = browser.get(query(client))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    # The sign-in satisfies it, even if the continuation comes a little later.
    next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    browser.post("/accounts/login/", {"username": "alice", "password": "alice-password-123"})
    continued = browser.get(next_url)
    assert continued.status_code == 302 and continued["Location"].startswith(REDIRECT_URI)
    assert "code" in query_of(continued["Location"])
    tokens = sign_in_and_get_tokens(browser, client, secret)
    assert verify_id_token(tokens["id_token"], client)["auth_time"] > signed_in_at


def test_a_default_max_age_of_zero_does_not_loop_after_the_sign_in(browser, rp, time_machine):
    time_machine.move_to(time.time(), tick=False)
    client, secret = rp
    sign_in_and_get_tokens(browser, client, secret)
    configure(client, default_max_age=0)
    signed_in_ago(browser, 5)
    response = browser.get(query(client))
    assert response["Location"].startswith("/accounts/login/")
    next_url = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    browser.post("/accounts/login/", {"username": "alice", "password": "alice-password-123"})
    time_machine.shift(3)  # the sign-in page took a few seconds
    continued = browser.get(next_url)
    assert continued["Location"].startswith(REDIRECT_URI) and "code" in query_of(continued["Location"])
    # Only once: the next request asks again.
    time_machine.shift(3)
    assert browser.get(query(client))["Location"].startswith("/accounts/login/")


def test_the_request_max_age_overrides_the_client_default(browser, rp):
    client, secret = rp
    sign_in_and_get_tokens(browser, client, secret)
    configure(client, default_max_age=10)
    signed_in_ago(browser, 100)
    tokens = sign_in_and_get_tokens(browser, client, secret, max_age="10000")
    assert "auth_time" in verify_id_token(tokens["id_token"], client)


def test_without_default_max_age_an_old_sign_in_is_enough(browser, rp):
    client, secret = rp
    signed_in_ago(browser, 10 * 24 * 3600)
    tokens = sign_in_and_get_tokens(browser, client, secret)
    assert verify_id_token(tokens["id_token"], client)


def test_require_auth_time_signs_in_again_when_the_sign_in_time_is_unknown(browser, rp):
    client, secret = rp
    sign_in_and_get_tokens(browser, client, secret)
    session = browser.session
    del session[AUTH_TIME_SESSION_KEY]
    session.save()
    # Without require_auth_time, the flow goes on (the ID token has no auth_time) ...
    tokens = sign_in_and_get_tokens(browser, client, secret)
    assert "auth_time" not in verify_id_token(tokens["id_token"], client)
    # ... with it, a fresh sign-in first, and the ID token has auth_time.
    configure(client, require_auth_time=True)
    response = browser.get(query(client))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    browser.post("/accounts/login/", {"username": "alice", "password": "alice-password-123"})
    tokens = sign_in_and_get_tokens(browser, client, secret)
    assert verify_id_token(tokens["id_token"], client)["auth_time"] >= int(time.time()) - 5
