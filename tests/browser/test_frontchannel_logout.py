"""Front-Channel Logout 1.0 in a real browser (Debian's Chromium): a relying party on a live test
server of its own (another origin, plain http on loopback) signs a person in through the code
flow, then sends them to the end-session endpoint. The logout page loads the RP's
frontchannel_logout_uri in a hidden iframe (the RP records the request, with `iss` and `sid`),
under the page's Content-Security-Policy, with no CSP violation, and then goes on by itself to
the RP's post_logout_redirect_uri with its `state`."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.core.cache import cache
from joserfc import jwt
from joserfc.jwk import KeySet

from server import services
from server.actors import Actor
from tests.browser.conftest import screenshot
from tests.server.helpers import pkce_pair

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]


class RelyingParty:
    """A loopback http server: every GET is recorded (path and query, in order) and answered 200."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                recorded.append((parts.path, parse_qs(parts.query)))
                body = f"<!doctype html><title>RP</title><h1>RP {parts.path}</h1>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        """The pages asked for, in order (not the browser's own /favicon.ico)."""
        return [path for path, _ in self.requests if path != "/favicon.ico"]

    def query(self, path: str) -> dict:
        """The query of the last request for `path`."""
        return [query for seen, query in self.requests if seen == path][-1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rp():
    server = RelyingParty()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def plain_http(settings, monkeypatch):
    settings.OAUTH2_REQUIRE_HTTPS = False
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    cache.clear()


def test_the_logout_page_loads_the_rps_front_channel_page_then_continues(live_server, page, end_user, rp):
    base = live_server.url
    client, secret = services.create_client(
        name="Front-channel RP",
        redirect_uris=[f"{rp.url}/callback"],
        scope=["openid", "profile"],
        actor=Actor.system("tests"),
    )
    services.update_client(
        client,
        actor=Actor.system("tests"),
        post_logout_redirect_uris=[f"{rp.url}/bye"],
        frontchannel_logout_uri=f"{rp.url}/front-logout",
        frontchannel_logout_session_required=True,
    )
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security" in message.text else None,
    )

    # Sign in through the RP: the code flow with openid, consent included.
    verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": f"{rp.url}/callback",
        "scope": "openid profile",
        "state": "in-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page.goto(f"{base}/oauth/authorize?{urlencode(query)}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-123")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{rp.url}/callback*")
    code = rp.query("/callback")["code"][0]
    tokens = requests.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{rp.url}/callback",
            "code_verifier": verifier,
        },
        auth=(client.client_id, secret),
        timeout=10,
    ).json()
    keys = KeySet.import_key_set(requests.get(f"{base}/oauth/jwks", timeout=10).json())
    sid = jwt.decode(tokens["id_token"], keys).claims["sid"]

    # The RP sends the person to the end-session endpoint.
    logout = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": f"{rp.url}/bye",
        "state": "out-1",
    }
    response = page.goto(f"{base}/oauth/logout?{urlencode(logout)}")
    frame_src = next(
        part for part in response.headers["content-security-policy"].split(";") if "frame-src" in part
    )
    assert frame_src.split() == ["frame-src", rp.url]
    page.wait_for_url(f"{rp.url}/bye*")

    assert rp.paths()[-2:] == ["/front-logout", "/bye"], rp.paths()
    assert rp.query("/front-logout") == {"iss": [base], "sid": [sid]}
    assert rp.query("/bye") == {"state": ["out-1"]}
    assert violations == []
    screenshot(page, "frontchannel-logout-continued")


def test_without_a_redirect_the_page_stays_after_loading_the_frame(live_server, page, end_user, rp):
    base = live_server.url
    client, _secret = services.create_client(
        name="Quiet RP",
        redirect_uris=[f"{rp.url}/callback"],
        scope=["openid"],
        actor=Actor.system("tests"),
    )
    services.update_client(
        client, actor=Actor.system("tests"), frontchannel_logout_uri=f"{rp.url}/front-logout"
    )
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-123")
    page.get_by_role("button", name="Sign in").click()
    _verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": f"{rp.url}/callback",
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page.goto(f"{base}/oauth/authorize?{urlencode(query)}")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{rp.url}/callback*")

    # No hint: the confirmation page, then the signed-out page with the frame.
    page.goto(f"{base}/oauth/logout")
    page.locator("button[name=confirm_logout]").click()
    page.get_by_role("heading", name="You are signed out").wait_for()
    deadline = time.monotonic() + 10
    while "/front-logout" not in rp.paths() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rp.query("/front-logout") == {}, "not session-required: no iss, no sid"
    page.wait_for_timeout(500)
    assert page.url.startswith(base), "nowhere to continue to: the page stays"
    screenshot(page, "frontchannel-logout-signed-out")
