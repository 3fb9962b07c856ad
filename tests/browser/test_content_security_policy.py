"""The Content-Security-Policy in Chromium: every key page runs without a single violation.

The HTTP tests (tests/security/test_content_security_policy.py) check the header and scan the
markup; only a browser sees what scripts do at run time (Chart.js, select2, the admin's own
JavaScript) and whether the consent form's redirect to a client survives the policy. A page
fails on any "Refused to ..." console message or securitypolicyviolation event.
"""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse

from server import views
from tests.browser.conftest import screenshot
from tests.server.helpers import pkce_pair

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]


# Recorded in the page itself, so a violation is seen even where no console message is printed.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture(autouse=True)
def plain_http(settings, monkeypatch):
    """The live server speaks plain HTTP; let the protocol endpoints accept it for this test."""
    settings.OAUTH2_REQUIRE_HTTPS = False
    settings.CONSOLE_DASHBOARD_CACHE_SECONDS = 0
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    cache.clear()


class ViolationWatch:
    """Console messages and securitypolicyviolation events of one page, across navigations."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def _on_console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or text.startswith("Refused to") or message.type == "error":
            self.console.append(f"{message.type}: {text}")

    def visit(self, url: str) -> list[str]:
        self.console.clear()
        response = self.page.goto(url)
        self.page.wait_for_load_state("networkidle")
        return self.problems(response)

    def policy_violations(self) -> list[str]:
        markers = ("Content Security Policy", "blocked", "Refused")
        return [problem for problem in self.problems() if any(marker in problem for marker in markers)]

    def problems(self, response=None) -> list[str]:
        found = list(self.console)
        found += self.page.evaluate("window.__cspViolations || []")
        if response is not None:
            header = response.header_value("content-security-policy") or ""
            if "script-src" not in header or "unsafe-inline" in header:
                found.append(f"weak or missing policy: {header!r}")
        return found


def sign_in(page, base: str, username: str, password: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?{urlencode({'next': next_path})}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def test_key_pages_run_without_a_policy_violation(live_server, page, operator, make_client):
    app, _secret = make_client("Photo Printer")
    base = live_server.url
    watch = ViolationWatch(page)
    assert watch.visit(f"{base}/") == []
    assert watch.visit(f"{base}/accounts/login/") == []
    assert watch.visit(f"{base}/admin/login/") == []

    sign_in(page, base, operator.username, "root-password-123", "/console/")
    paths = [
        "/console/",  # Chart.js draws the charts from a json_script data block
        "/admin/",
        reverse("admin:server_client_changelist"),
        reverse("admin:server_client_add"),
        reverse("admin:server_client_change", args=[app.pk]),
        reverse("admin:server_client_import"),
        reverse("admin:server_token_changelist"),  # select2 autocomplete filters
        reverse("admin:audit_auditevent_changelist"),
        reverse("admin:auth_user_add"),
        "/developers/",
        "/account/apps/",
    ]
    for path in paths:
        assert watch.visit(f"{base}{path}") == [], path
    screenshot(page, "csp-01-account-apps")

    # The export page's "Select all" toggle, wired from a static file instead of onchange="".
    assert watch.visit(f"{base}{reverse('admin:server_client_export')}") == []
    field_boxes = page.locator(".selectable-field-export-row input[type=checkbox]")
    assert field_boxes.count() > 0
    page.locator("#select-all-toggle").uncheck()
    assert all(not box.is_checked() for box in field_boxes.all())
    page.locator("#select-all-toggle").check()
    assert all(box.is_checked() for box in field_boxes.all())
    assert watch.problems() == []

    # No /favicon.ico 404 on any of them (Chromium asks for it; the layouts link an icon).
    response = page.goto(f"{base}/favicon.ico")
    assert response.status == 200


def client_on_another_origin(live_server, make_client):
    """A client whose redirect URI is another origin than the server's (127.0.0.1 vs localhost),
    served by the live server itself: Playwright cannot route a redirect, so it must be real."""
    port = urlsplit(live_server.url).port
    assert urlsplit(live_server.url).hostname == "localhost"
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    app, _secret = make_client("Photo Printer", redirect_uris=[redirect_uri])
    return app, redirect_uri


def consent_and_allow(page, base: str, client_id: str, redirect_uri: str) -> str:
    """Open the consent page for `client_id`, press Allow, return the URL the browser lands on."""
    _verifier, challenge = pkce_pair()
    authorize = f"{base}/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "profile",
            "state": "s-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page.goto(authorize)
    page.get_by_role("button", name="Allow").wait_for()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_load_state("networkidle")
    return page.url


def test_approving_consent_redirects_to_the_client_under_the_policy(live_server, page, end_user, make_client):
    app, redirect_uri = client_on_another_origin(live_server, make_client)
    base = live_server.url
    watch = ViolationWatch(page)
    sign_in(page, base, "alice", "alice-password-123", "/account/apps/")
    landed = consent_and_allow(page, base, app.client_id, redirect_uri)
    assert landed.startswith(redirect_uri + "?"), (landed, watch.problems())
    answer = {k: v[0] for k, v in parse_qs(urlsplit(landed).query).items()}
    assert answer["state"] == "s-1" and answer["code"]
    # (The client's callback is a 404 on the live server: only policy violations count here.)
    assert watch.policy_violations() == []


def test_form_action_self_on_the_consent_page_would_block_the_redirect(
    live_server, page, end_user, make_client, monkeypatch
):
    """Why server/views.py drops form-action on the consent page: Chromium applies it to the
    redirect that answers the form's POST. If this ever passes with 'self', restore form-action."""
    monkeypatch.setitem(views.CONSENT_PAGE_CSP, "form-action", ["'self'"])
    app, redirect_uri = client_on_another_origin(live_server, make_client)
    base = live_server.url
    watch = ViolationWatch(page)
    sign_in(page, base, "alice", "alice-password-123", "/account/apps/")
    landed = consent_and_allow(page, base, app.client_id, redirect_uri)
    assert not landed.startswith(redirect_uri)
    assert any("form-action" in problem for problem in watch.policy_violations()), watch.problems()


def test_the_consent_page_asking_for_claims_one_by_one_runs_under_the_policy(
    live_server, page, end_user, make_client
):
    """OpenID Connect's claims parameter: the page lists the claim no scope covers (marked
    essential), with no policy violation; Allow lands back at the client with a code."""
    port = urlsplit(live_server.url).port
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    app, _secret = make_client("Photo Printer", redirect_uris=[redirect_uri], scope=["openid", "email"])
    base = live_server.url
    watch = ViolationWatch(page)
    sign_in(page, base, "alice", "alice-password-123", "/account/apps/")
    _verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid",
        "state": "s-2",
        "nonce": "n-2",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "claims": '{"userinfo": {"email": {"essential": true}}}',
    }
    assert watch.visit(f"{base}/oauth/authorize?{urlencode(query)}") == []
    claims = page.locator("#requested-claims")
    assert "Your email address" in claims.inner_text() and "the app says it needs this" in claims.inner_text()
    screenshot(page, "consent-claims-one-by-one")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(redirect_uri + "?") and "code=" in page.url
    assert watch.policy_violations() == []
