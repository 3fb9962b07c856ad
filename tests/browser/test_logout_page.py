"""Signing out at /oauth/logout (OpenID Connect RP-Initiated Logout) in Chromium, as a person sees
it: without an id_token_hint the page asks first ("Stay signed in" keeps the session, "Sign out"
ends it); an app named by client_id is named on the page; with a valid id_token_hint the person is
signed out at once and sent back to the app's registered post_logout_redirect_uri with its state.
The apps are served by the live server itself on another origin (127.0.0.1 against localhost):
Playwright cannot route a redirect, so the landing must be real (a 404 there is fine)."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.core.cache import cache

from server import services
from server.actors import Actor
from tests.browser.conftest import screenshot
from tests.browser.test_content_security_policy import ViolationWatch, sign_in
from tests.server.helpers import pkce_pair

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

ALICE_PASSWORD = "alice-password-123"  # the shared `end_user` fixture's


@pytest.fixture(autouse=True)
def plain_http(settings, monkeypatch):
    settings.OAUTH2_REQUIRE_HTTPS = False
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    cache.clear()


@pytest.fixture
def relying_party(live_server, make_client):
    """An OpenID Connect client whose callback and sign-out return URL are on 127.0.0.1."""
    origin = f"http://127.0.0.1:{urlsplit(live_server.url).port}"
    client, secret = make_client(
        "Photo Printer", redirect_uris=[f"{origin}/callback"], scope=["openid", "profile"]
    )
    services.update_client(client, actor=Actor.system("tests"), post_logout_redirect_uris=[f"{origin}/bye"])
    client.refresh_from_db()
    return client, secret, origin


def signed_in(page, base: str) -> bool:
    """Whether the browser's session is still signed in (the apps page asks for a sign-in if not)."""
    page.goto(f"{base}/account/apps/")
    return "/accounts/login/" not in page.url


def test_without_a_hint_the_page_asks_and_stay_signed_in_keeps_the_session(live_server, page, end_user):
    base = live_server.url
    watch = ViolationWatch(page)
    sign_in(page, base, "alice", ALICE_PASSWORD, "/account/apps/")
    page.goto(f"{base}/oauth/logout")
    page.get_by_role("heading", name="Sign out of oauth-console?").wait_for()
    page.get_by_text("An app asked to sign you out.").wait_for()
    screenshot(page, "logout-01-confirm")
    page.get_by_role("link", name="Stay signed in").click()
    page.wait_for_load_state()
    assert signed_in(page, base)

    page.goto(f"{base}/oauth/logout")
    page.get_by_role("button", name="Sign out", exact=True).last.click()
    page.get_by_role("heading", name="You are signed out").wait_for()
    assert not signed_in(page, base)
    assert watch.policy_violations() == []


def test_a_link_alone_only_asks_and_the_confirmation_sends_the_person_back(
    live_server, page, end_user, relying_party
):
    """A GET naming the app and its return URL (what a hostile page could embed) only asks; the
    page names the app, and "Sign out" ends the session and lands on the app's registered URL.
    Before: the page's form-action 'self' made Chromium block the POST's redirect to the app, so
    "Sign out" did nothing at all (the walk found it)."""
    client, _secret, origin = relying_party
    base = live_server.url
    watch = ViolationWatch(page)
    sign_in(page, base, "alice", ALICE_PASSWORD, "/account/apps/")
    query = urlencode(
        {"client_id": client.client_id, "post_logout_redirect_uri": f"{origin}/bye", "state": "s-1"}
    )
    page.goto(f"{base}/oauth/logout?{query}")
    page.get_by_text("Photo Printer asked to sign you out.").wait_for()
    assert signed_in(page, base)

    page.goto(f"{base}/oauth/logout?{query}")
    screenshot(page, "logout-02-confirm-named-app")
    page.get_by_role("button", name="Sign out", exact=True).last.click()
    page.wait_for_url(f"{origin}/bye?**")
    assert parse_qs(urlsplit(page.url).query) == {"state": ["s-1"]}
    assert watch.policy_violations() == []
    assert not signed_in(page, base)


def test_with_a_valid_id_token_hint_the_person_is_signed_out_at_once_and_sent_back(
    live_server, page, end_user, relying_party
):
    client, secret, origin = relying_party
    base = live_server.url
    sign_in(page, base, "alice", ALICE_PASSWORD, "/account/apps/")
    verifier, challenge = pkce_pair()
    authorize = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": f"{origin}/callback",
        "scope": "openid profile",
        "state": "st",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page.goto(f"{base}/oauth/authorize?{urlencode(authorize)}")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{origin}/callback?**")
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    tokens = requests.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{origin}/callback",
            "code_verifier": verifier,
        },
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    hint = tokens.json()["id_token"]

    logout = {"id_token_hint": hint, "post_logout_redirect_uri": f"{origin}/bye", "state": "bye-1"}
    page.goto(f"{base}/oauth/logout?{urlencode(logout)}")
    page.wait_for_url(f"{origin}/bye?**")
    assert parse_qs(urlsplit(page.url).query) == {"state": ["bye-1"]}
    assert not signed_in(page, base)
