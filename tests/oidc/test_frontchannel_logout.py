"""OpenID Connect Front-Channel Logout 1.0, over HTTP: the clients signed in to in the ended
session that registered a `frontchannel_logout_uri` are each loaded in a hidden iframe of the
logout page (with `iss` and `sid` when they asked for them), under a Content-Security-Policy
whose `frame-src` is exactly their origins, with no inline code; the page then goes on to the
post_logout_redirect_uri (static JS, or the "Continue" link). The browser half (the iframes
really load, the page really continues) is tests/browser/test_frontchannel_logout.py.

Test names follow the OpenID Foundation's Front-Channel OP plan where one matches.
"""

import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client as HttpClient

from oauth_console.audit.models import AuditEvent
from server import services
from server.actors import Actor
from server.models import Client

from .conftest import ISSUER, sign_in_and_get_tokens, verify_id_token

pytestmark = pytest.mark.django_db

BYE = "https://app.example.com/logged-out"
A_FRONT = "https://app.example.com/front-logout?tenant=7"
B_FRONT = "https://rp-b.example.org/logout"


class Page(HTMLParser):
    """The iframes, scripts, inline handlers and style attributes of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.iframes, self.scripts, self.inline = [], [], []
        self.links = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "iframe":
            self.iframes.append(attrs)
        if tag == "script":
            self.scripts.append(attrs)
        if tag == "a" and attrs.get("id"):
            self.links[attrs["id"]] = attrs.get("href")
        self.inline += [name for name in attrs if name.startswith("on") or name == "style"]

    def handle_data(self, data):
        if self.lasttag == "script" and data.strip():
            self.inline.append("inline <script> body")


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def make_rp(make_client):
    def make(name, front, *, session_required=False, redirect_uris=None):
        client, secret = make_client(
            name,
            scope=["openid", "profile", "email"],
            redirect_uris=redirect_uris or ["https://app.example.com/callback"],
        )
        services.update_client(
            client,
            actor=Actor.system("tests"),
            post_logout_redirect_uris=[BYE],
            frontchannel_logout_uri=front,
            frontchannel_logout_session_required=session_required,
        )
        client.refresh_from_db()
        return client, secret

    return make


def test_oidcc_frontchannel_rp_initiated_logout(browser, make_rp):
    """Two clients of this session: one iframe each (A with iss and sid, B as registered), a
    frame-src of exactly their two origins, no inline code, then on to the RP with its state."""
    a, a_secret = make_rp("RP A", A_FRONT, session_required=True)
    b, b_secret = make_rp(
        "RP B", B_FRONT, redirect_uris=["https://app.example.com/callback", "https://rp-b.example.org/cb"]
    )
    make_rp("RP C, never signed in to", "https://app.example.com/c-logout")
    a_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    sign_in_and_get_tokens(browser, b, b_secret)
    sid = verify_id_token(a_token, a)["sid"]

    response = browser.get(
        "/oauth/logout", {"id_token_hint": a_token, "post_logout_redirect_uri": BYE, "state": "s-42"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in browser.session

    page = Page(response.content.decode())
    sources = sorted(frame["src"] for frame in page.iframes)
    a_src, b_src = sources  # "https://app..." sorts before "https://rp-b..."
    assert b_src == B_FRONT
    a_parts = urlsplit(a_src)
    assert f"{a_parts.scheme}://{a_parts.netloc}{a_parts.path}" == A_FRONT.split("?")[0]
    assert parse_qs(a_parts.query) == {"tenant": ["7"], "iss": [ISSUER], "sid": [sid]}
    assert all("hidden" in frame for frame in page.iframes)

    policy = csp_directives(response)
    assert policy["frame-src"] == ["https://app.example.com", "https://rp-b.example.org"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert policy["script-src"][0] == "'self'"
    assert page.inline == [], "no inline script, handler or style"
    assert [script["src"] for script in page.scripts if "frontchannel" in script.get("src", "")]
    assert page.links["frontchannel-continue"] == f"{BYE}?state=s-42"

    event = AuditEvent.objects.get(event_type="user_logged_out")
    assert sorted(event.detail["clients"]) == sorted([a.client_id, b.client_id])


def test_the_frame_src_is_for_that_one_response(browser, make_rp):
    a, a_secret = make_rp("RP A", A_FRONT)
    a_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    browser.get("/oauth/logout", {"id_token_hint": a_token, "post_logout_redirect_uri": BYE})
    assert "frame-src" not in HttpClient().get("/oauth/logout")["Content-Security-Policy"]


def test_without_front_channel_clients_the_redirect_is_immediate(browser, make_rp):
    a, a_secret = make_rp("RP A", "")
    a_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    response = browser.get("/oauth/logout", {"id_token_hint": a_token, "post_logout_redirect_uri": BYE})
    assert response.status_code == 302 and response["Location"] == BYE


def test_without_a_redirect_the_page_frames_and_stays(browser, make_rp):
    a, a_secret = make_rp("RP A", A_FRONT)
    a_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    response = browser.get("/oauth/logout", {"id_token_hint": a_token})
    page = Page(response.content.decode())
    assert [frame["src"] for frame in page.iframes] == [A_FRONT], "not session-required: as registered"
    assert "frontchannel-continue" not in page.links


def test_the_sites_own_sign_out_frames_them_too(browser, make_rp):
    a, a_secret = make_rp("RP A", A_FRONT, session_required=True)
    sign_in_and_get_tokens(browser, a, a_secret)
    response = browser.post("/accounts/logout/")
    assert response.status_code == 200
    page = Page(response.content.decode())
    assert len(page.iframes) == 1 and page.iframes[0]["src"].startswith(A_FRONT + "&iss=")
    assert csp_directives(response)["frame-src"] == ["https://app.example.com"]
    assert page.links["frontchannel-continue"] == "/"


@pytest.mark.parametrize(
    "stored", ["javascript:alert(1)", "https://evil.example.com/logout", "https://app.example.com/x#frag"]
)
def test_a_stored_uri_todays_policy_refuses_is_not_framed(browser, make_rp, stored):
    """A row from before the policy (or edited by hand) is judged again before it is framed."""
    a, a_secret = make_rp("RP A", A_FRONT)
    a_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    Client.objects.filter(pk=a.pk).update(frontchannel_logout_uri=stored)
    response = browser.get("/oauth/logout", {"id_token_hint": a_token, "post_logout_redirect_uri": BYE})
    assert response.status_code == 302 and response["Location"] == BYE


def test_a_disabled_client_is_not_framed(browser, make_rp):
    a, a_secret = make_rp("RP A", A_FRONT)
    a_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    services.set_client_status(a, Client.Status.DISABLED, actor=Actor.system("tests"))
    response = browser.get("/oauth/logout", {"id_token_hint": a_token})
    assert b"<iframe" not in response.content


def registration(metadata: dict):
    _row, iat = services.create_initial_access_token(
        actor=Actor.system("tests"), created_by=None, allowed_scope=["openid"]
    )
    body = {"redirect_uris": ["https://app.example.com/callback"], "scope": "openid", **metadata}
    return HttpClient().post(
        "/oauth/register",
        json.dumps(body),
        content_type="application/json",
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {iat}",
    )


def test_registration_takes_and_answers_the_front_channel_metadata():
    response = registration(
        {"frontchannel_logout_uri": A_FRONT, "frontchannel_logout_session_required": True}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["frontchannel_logout_uri"] == A_FRONT and body["frontchannel_logout_session_required"] is True
    client = Client.objects.get(client_id=body["client_id"])
    assert (client.frontchannel_logout_uri, client.frontchannel_logout_session_required) == (A_FRONT, True)


@pytest.mark.parametrize(
    "metadata, says",
    [
        ({"frontchannel_logout_uri": "https://elsewhere.example.com/logout"}, "redirect URIs"),
        ({"frontchannel_logout_uri": "https://app.example.com:8443/logout"}, "redirect URIs"),
        ({"frontchannel_logout_uri": "javascript:alert(1)"}, ""),
        ({"frontchannel_logout_uri": ["https://app.example.com/x"]}, "string"),
        (
            {"frontchannel_logout_uri": A_FRONT, "frontchannel_logout_session_required": "yes"},
            "true or false",
        ),
    ],
)
def test_registration_refuses_a_bad_front_channel_uri(metadata, says):
    response = registration(metadata)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    assert re.search(says, body["error_description"]), body
    assert not Client.objects.exists()


@pytest.mark.parametrize(
    "host", ["rp-a.example.com;sandbox", "rp-a.example.com,x", "rp-a.example.com'unsafe-inline'"]
)
def test_a_page_whose_origin_no_csp_source_can_name_is_not_framed(browser, make_rp, host):
    """A redirect URI's host could hold what RFC 3986 allows in a name (`;` `,` `'`), and so
    could a front-channel URI on its origin. Its origin went into the logout page's header as it
    was: `frame-src https://rp-a.example.com;sandbox` added a directive a client chose to the page
    every other app's frames load in, `,` started a second policy. The policy now refuses such a
    host at every door (`policy_rules.invalid_host`), so the row is written around it, as one
    stored before it would be: such a page is not framed (CSP host-sources hold letters, digits,
    dots and hyphens); the others' frames are, exactly."""
    a, a_secret = make_rp("RP A", A_FRONT)
    Client.objects.filter(pk=a.pk).update(
        redirect_uris=f"https://app.example.com/callback\nhttps://{host}/cb",
        frontchannel_logout_uri=f"https://{host}/logout",
    )
    a.refresh_from_db()
    b, b_secret = make_rp(
        "RP B", B_FRONT, redirect_uris=["https://app.example.com/callback", "https://rp-b.example.org/cb"]
    )
    a_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    sign_in_and_get_tokens(browser, b, b_secret)
    response = browser.get("/oauth/logout", {"id_token_hint": a_token, "post_logout_redirect_uri": BYE})
    assert response.status_code == 200
    assert [frame["src"] for frame in Page(response.content.decode()).iframes] == [B_FRONT]
    header = response["Content-Security-Policy"]
    assert "," not in header and "sandbox" not in header and host not in header, header
    assert csp_directives(response)["frame-src"] == ["https://rp-b.example.org"]
