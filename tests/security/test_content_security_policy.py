"""Content-Security-Policy on every page, and no inline script or style that would need 'unsafe-inline'.

The policy (settings.CONTENT_SECURITY_POLICY, django-csp) is what turns a stored-XSS bug into a
dead payload; it only holds if no page of ours needs 'unsafe-inline'. So every representative
page is fetched and its header parsed, and its HTML is scanned for inline <script>/<style>
without the request's nonce, style="" attributes and on*="" handlers. The template sources are
scanned too, so a page no test renders cannot bring inline code back.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import reverse

from server.actors import Actor
from tests.server.helpers import authorize_url, pkce_pair

ROOT = Path(settings.BASE_DIR)


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict_policy(response) -> dict[str, list[str]]:
    policy = policy_of(response)
    path = response.request["PATH_INFO"]
    for directive in ("script-src", "style-src"):
        sources = policy.get(directive) or policy["default-src"]
        assert "'unsafe-inline'" not in sources, f"{directive} allows inline on {path}: {sources}"
        assert "'unsafe-eval'" not in sources, f"{directive} allows eval on {path}: {sources}"
        assert "*" not in sources and "https:" not in sources and "data:" not in sources, (path, sources)
    assert policy["default-src"] == ["'self'"], (path, policy)
    assert policy["object-src"] == ["'none'"], (path, policy)
    # No third-party images: a client's logo URL must never be fetched from our pages.
    assert set(policy["img-src"]) <= {"'self'", "data:"}, (path, policy)
    assert policy["frame-ancestors"] == ["'none'"], (path, policy)
    return policy


class InlineCodeScanner(HTMLParser):
    """Collects every piece of markup that a policy without 'unsafe-inline' would block."""

    def __init__(self, nonce: str | None):
        super().__init__()
        self.nonce = nonce
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name, value in attrs:
            if name == "style":
                self.problems.append(f'<{tag} style="{value}">')
            if name.startswith("on"):
                self.problems.append(f'<{tag} {name}="{value}">')
            if name == "href" and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f'<{tag} href="{value}">')
        if tag == "script" and "src" not in names:
            if (names.get("type") or "").lower() in {"application/json", "application/ld+json"}:
                return  # a data block (json_script), never executed
            if not self.nonce or names.get("nonce") != self.nonce:
                self.problems.append("<script> inline without the request's nonce")
        if tag == "style" and (not self.nonce or names.get("nonce") != self.nonce):
            self.problems.append("<style> inline without the request's nonce")


def inline_code_in(response) -> list[str]:
    nonce = None
    for source in policy_of(response).get("script-src", []) + policy_of(response).get("style-src", []):
        if source.startswith("'nonce-"):
            nonce = source[len("'nonce-") : -1]
    scanner = InlineCodeScanner(nonce)
    scanner.feed(response.content.decode())
    return scanner.problems


@pytest.fixture
def app(make_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # its audit event is written
        client, _secret = make_client("Photo Printer")
    return client


@pytest.fixture
def operator_http(operator):
    http = HttpClient()
    http.force_login(operator)
    return http


def operator_pages(app) -> list[str]:
    from oauth_console.audit.models import AuditEvent
    from oauth_console.webhooks import services as webhooks

    subscription, _ = webhooks.create_subscription(
        name="SIEM",
        url="https://hooks.example.com/in",
        event_types=["client_created"],
        actor=Actor.system("t"),
    )
    delivery = webhooks.send_test_event(subscription, actor=Actor.system("t"))
    event = AuditEvent.objects.order_by("-pk").first()
    webhook_pages = [
        reverse("admin:webhooks_subscription_changelist"),
        reverse("admin:webhooks_subscription_add"),
        reverse("admin:webhooks_subscription_change", args=[subscription.pk]),
        reverse("admin:webhooks_subscription_edit", args=[subscription.pk]),
        reverse("admin:webhooks_subscription_secret", args=[subscription.pk]),
        reverse("admin:webhooks_subscription_rotate", args=[subscription.pk]),
        reverse("admin:webhooks_subscription_test", args=[subscription.pk]),
        reverse("admin:webhooks_subscription_delete", args=[subscription.pk]),
        reverse("admin:webhooks_subscription_replay", args=[subscription.pk, delivery.pk]),
    ]
    return [
        *webhook_pages,
        reverse("admin:audit_auditevent_change", args=[event.pk]),
        "/",
        "/console/",
        "/developers/",
        "/developers/apps/new/",
        "/account/apps/",
        "/admin/",
        reverse("admin:server_client_changelist"),
        reverse("admin:server_client_add"),
        reverse("admin:server_client_change", args=[app.pk]),
        reverse("admin:server_client_import"),
        reverse("admin:server_client_export"),
        reverse("admin:server_token_changelist"),
        reverse("admin:audit_auditevent_changelist"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_add"),
        reverse("admin:password_change"),
    ]


@pytest.mark.django_db
def test_every_operator_page_has_a_strict_policy_and_no_inline_code(operator_http, app):
    for path in operator_pages(app):
        response = operator_http.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_strict_policy(response)
        assert inline_code_in(response) == [], path


@pytest.mark.django_db
def test_anonymous_pages_and_error_pages_have_a_strict_policy_and_no_inline_code(client, settings):
    settings.PORTAL_SELF_SIGNUP = True
    pages = {
        "/": 200,
        "/accounts/login/": 200,
        "/admin/login/": 200,
        "/developers/signup/": 200,
        "/no-such-page/": 404,
        # An unknown client: the authorization endpoint's own error page.
        "/oauth/authorize?response_type=code&client_id=nobody": 400,
    }
    for path, status in pages.items():
        response = client.get(path)
        assert response.status_code == status, (path, response.status_code)
        assert_strict_policy(response)
        if "text/html" in response.headers["Content-Type"]:
            assert inline_code_in(response) == [], path


@pytest.mark.django_db
def test_the_csrf_failure_page_has_no_inline_style():
    """Django's built-in CSRF failure page has an inline <style>; ours (403_csrf.html) has none."""
    browser = HttpClient(enforce_csrf_checks=True)
    response = browser.post("/accounts/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert_strict_policy(response)
    assert inline_code_in(response) == []
    assert "try again" in response.content.decode()


@pytest.mark.django_db
def test_consent_page_has_the_full_policy_and_still_refuses_framing(client, end_user, app):
    client.force_login(end_user)
    _verifier, challenge = pkce_pair()
    response = client.get(authorize_url(app.client_id, challenge, scope="profile"))
    assert response.status_code == 200
    assert 'name="confirm"' in response.content.decode()
    policy = assert_strict_policy(response)
    assert "script-src" in policy and "style-src" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert inline_code_in(response) == []


@pytest.mark.django_db
def test_a_nonce_is_only_sent_when_a_page_uses_one_and_differs_per_request(operator_http, app):
    """Nonces in the header are harmless, but one repeated across responses would be worthless."""
    first = policy_of(operator_http.get("/console/"))
    second = policy_of(operator_http.get("/console/"))
    nonces = [s for s in first["script-src"] + second["script-src"] if s.startswith("'nonce-")]
    assert len(nonces) == len(set(nonces))


@pytest.mark.django_db
def test_hsts_is_sent_over_https_when_debug_is_off(client):
    assert settings.DEBUG is False
    response = client.get("/", secure=True)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Never over plain HTTP (RFC 6797 §7.2): a man in the middle could strip or forge it.
    assert "Strict-Transport-Security" not in client.get("/").headers


@pytest.mark.django_db
def test_favicon_is_served_and_linked_from_every_layout(client, operator_http, app):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00", "not an ICO file"
    layouts = [
        (client, "/"),
        (client, "/accounts/login/"),
        (operator_http, "/admin/"),
        (operator_http, "/console/"),
    ]
    for http, path in layouts:
        html = http.get(path).content.decode()
        assert re.search(r'<link rel="icon"[^>]+href="/static/img/favicon\.svg"', html), path


# --- The template sources: nothing inline in any template of ours ------------------------------

TEMPLATE_DIRS = [ROOT / "templates", *sorted((ROOT / "oauth_console").glob("*/templates"))]
INLINE_PATTERNS = {
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"=\s*[\"']?\s*javascript:", re.IGNORECASE),
    "inline <script> without nonce": re.compile(r"<script(?![^>]*\b(src|nonce)=)[^>]*>", re.IGNORECASE),
    "inline <style> without nonce": re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.IGNORECASE),
}


def test_no_template_of_ours_contains_inline_script_or_style():
    templates = [path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html")]
    assert len(templates) > 30
    found = []
    for path in templates:
        source = path.read_text()
        for what, pattern in INLINE_PATTERNS.items():
            for match in pattern.finditer(source):
                found.append(f"{path.relative_to(ROOT)}: {what}: {match.group(0)[:60]}")
    assert found == []


def test_no_python_module_of_ours_renders_inline_style_or_handlers():
    """HTML built in Python (format_html in admin columns, widget attrs) is checked too."""
    attribute = re.compile(r"""(\bstyle|\bon[a-z]+)\s*=\s*\\?["']|["'](style|on[a-z]+)["']\s*:""")
    found = []
    for folder in (ROOT / "oauth_console", ROOT / "server"):
        for path in folder.rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if attribute.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def _sign_in_page_form_action(http, next_url: str | None, **post) -> list[str]:
    query = "?" + urlencode({"next": next_url}) if next_url else ""
    response = http.post("/accounts/login/" + query, post) if post else http.get("/accounts/login/" + query)
    assert response.status_code == 200
    return assert_strict_policy(response)["form-action"]


@pytest.mark.django_db
def test_the_sign_in_page_lets_its_form_end_at_the_registered_redirect_uri(client, app, make_client):
    """Found by mozilla-django-oidc (tests/interop): signing in redirects to /oauth/authorize, which
    with a remembered consent redirects at once to the client; Chromium applies form-action to
    every redirect after a form submission, so 'self' alone left the person on the sign-in page.
    The page's form-action adds the origin of the redirect URI the request will answer at, only
    when the client registered it."""
    _verifier, challenge = pkce_pair()
    authorize = authorize_url(app.client_id, challenge)
    assert _sign_in_page_form_action(client, authorize) == ["'self'", "https://app.example.com"]
    # The same after a failed attempt (the page is shown again by the POST).
    failed = _sign_in_page_form_action(client, authorize, username="alice", password="wrong")
    assert failed == ["'self'", "https://app.example.com"]
    # No redirect_uri: the client's only registered one.
    default = authorize_url(app.client_id, challenge, redirect_uri="")
    default = default.replace("redirect_uri=&", "")
    assert _sign_in_page_form_action(client, default) == ["'self'", "https://app.example.com"]
    # A loopback redirect URI (RFC 8252 §7.3): the port the request names.
    native, _ = make_client(
        "Desktop app",
        redirect_uris=["http://127.0.0.1/cb"],
        client_type="public",
        grant_types=["authorization_code"],
    )
    loopback = authorize_url(native.client_id, challenge, redirect_uri="http://127.0.0.1:8123/cb")
    assert _sign_in_page_form_action(client, loopback) == ["'self'", "http://127.0.0.1:8123"]
    # A private-use scheme (RFC 8252 §7.1): a scheme-source.
    mobile, _ = make_client(
        "Mobile app",
        redirect_uris=["com.example.app:/cb"],
        client_type="public",
        grant_types=["authorization_code"],
    )
    private_use = authorize_url(mobile.client_id, challenge, redirect_uri="com.example.app:/cb")
    assert _sign_in_page_form_action(client, private_use) == ["'self'", "com.example.app:"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "https://app.example.com/callback; script-src *",
        "https://app.example.com",
    ],
)
def test_the_sign_in_page_adds_no_origin_the_client_did_not_register(client, app, redirect_uri):
    _verifier, challenge = pkce_pair()
    next_url = authorize_url(app.client_id, challenge, redirect_uri=redirect_uri)
    assert _sign_in_page_form_action(client, next_url) == ["'self'"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url",
    [None, "/console/", "/oauth/authorize?client_id=unknown&redirect_uri=https://app.example.com/callback"],
)
def test_the_sign_in_page_keeps_self_only_without_a_known_authorization_request(client, next_url):
    assert _sign_in_page_form_action(client, next_url) == ["'self'"]
