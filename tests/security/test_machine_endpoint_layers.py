"""The machine endpoints run without Django's browser layers (`server.machine_endpoints`,
`oauth_console.browser_layers`): checked from the outside, as an attacker would probe them.

- No browser page is reached without its layers: a machine endpoint's path resolves to that
  endpoint, and every variant of it (a trailing slash, a doubled or dotted segment, `;`, another
  case, percent-encoding, a NUL) is either that endpoint or a page with its layers (a 404).
- No request to them reads the layers (`request.user`, `request.session`): every outcome of every
  endpoint, with a session cookie riding along, is answered, never a 500.
- Every answer, errors included (400, 401, 404, 405, 429, 500, 503), carries the headers every
  other page does (Content-Security-Policy, nosniff, Referrer-Policy, X-Frame-Options), and
  every answer of an endpoint a client authenticates at or a bearer token reads is never cached
  (RFC 6749 §5.1, RFC 7662 §5 and RFC 8628 §3.2 by reference, OpenID Connect Core §5.3.2).
"""

import logging

import pytest
from django.db import InterfaceError, connection
from django.test import Client as HttpClient
from django.urls import resolve, reverse

from oauth_console.audit.models import AuditEvent
from server.machine_endpoints import MACHINE_ENDPOINTS, is_machine_request, machine_paths
from server.oauth2.device import DEVICE_CODE_GRANT_TYPE
from tests.server.helpers import basic_auth, form

pytestmark = pytest.mark.django_db

BROWSER_LAYERS = ("session", "user", "_messages")
METHODS = ("get", "post", "put", "patch", "delete", "options", "head")
# Where a client authenticates or a bearer token is read: nothing they answer may be cached.
NEVER_CACHED = {
    "oauth-token",
    "oauth-revoke",
    "oauth-introspect",
    "oauth-device-authorization",
    "oauth-userinfo",
    "api-me",
}


def variants(path: str) -> list[str]:
    """Paths an attacker tries next to a machine endpoint's own (`path`)."""
    head, _, last = path.rpartition("/")
    return [
        path + "/",
        "/" + path,
        f"{head}//{last}",
        f"{head}/./{last}",
        f"{head}/x/../{last}",
        path + ";x",
        path + ";",
        path.upper(),
        path.replace("/", "%2F"),
        path + "%2F",
        path + "%00",
        path + "%20",
        path + ".json",
        path + "/x",
        f"{head}/{last[:-1]}%{ord(last[-1]):02X}",  # the last character percent-encoded
        f"{head}/{last[:-1]}%{ord(last[-1]):02x}",
    ]


def assert_site_headers(response, where: str) -> None:
    """The headers every page of the site carries."""
    assert response.get("Content-Security-Policy"), f"{where}: no Content-Security-Policy"
    assert response.get("X-Content-Type-Options") == "nosniff", where
    assert response.get("Referrer-Policy") == "same-origin", where
    assert response.get("X-Frame-Options") == "DENY", where


def assert_never_cached(response, where: str) -> None:
    assert "no-store" in response.get("Cache-Control", ""), (where, response.get("Cache-Control"))


def skipped_the_layers(response) -> bool:
    request = response.wsgi_request
    missing = [layer for layer in BROWSER_LAYERS if not hasattr(request, layer)]
    assert missing in ([], list(BROWSER_LAYERS)), f"some layers only: {missing}"
    return bool(missing)


@pytest.fixture
def http(end_user) -> HttpClient:
    """A browser's client: signed in (a session cookie rides along), errors answered as in
    production (a 500 page, not an exception in the test)."""
    browser = HttpClient(raise_request_exception=False)
    browser.force_login(end_user)
    return browser


def test_each_machine_path_resolves_to_its_own_endpoint():
    """The layers are skipped by path, before URL resolution: a path that resolved to a browser
    view (a pattern listed before the endpoint's, a catch-all) would lose its session."""
    paths = {reverse(name): name for name in MACHINE_ENDPOINTS}
    assert set(paths) == set(machine_paths()), "every endpoint routed, nothing else"
    for path, name in paths.items():
        assert resolve(path).url_name == name, path


@pytest.mark.parametrize("name", sorted(MACHINE_ENDPOINTS))
def test_a_variant_of_a_machine_path_is_that_endpoint_or_a_page_with_its_layers(http, name):
    for path in variants(reverse(name)):
        for method in METHODS:
            response = getattr(http, method)(path, secure=True)
            where = f"{method.upper()} {path}"
            assert response.status_code < 500, (where, response.status_code)
            assert_site_headers(response, where)
            if skipped_the_layers(response):
                # Only a request for a machine endpoint goes without the layers.
                request = response.wsgi_request
                assert is_machine_request(request), where
                assert resolve(request.path_info).url_name in MACHINE_ENDPOINTS, where
            else:
                assert response.status_code == 404, (where, response.status_code)


@pytest.mark.parametrize("name", sorted(MACHINE_ENDPOINTS))
def test_every_method_at_a_machine_endpoint_is_answered_with_the_sites_headers(http, name):
    for method in METHODS:
        response = getattr(http, method)(reverse(name), secure=True)
        where = f"{method.upper()} {name}"
        assert response.status_code < 500, (where, response.status_code)
        assert skipped_the_layers(response), where
        assert_site_headers(response, where)
        # Every answer, a 405 included (UserInfo's was an empty HTML one without no-store).
        if name in NEVER_CACHED or response.status_code == 405:
            assert_never_cached(response, where)


@pytest.fixture
def device_app(make_client):
    return make_client("Layers TV", redirect_uris=[], grant_types=[DEVICE_CODE_GRANT_TYPE, "refresh_token"])


def every_outcome(http: HttpClient, app, device_app) -> list[tuple[str, object]]:
    """A request of each outcome at each machine endpoint: success, refused credentials, bad
    input. Each is run without the browser layers; a read of them would be a 500."""
    client, secret = app
    tv, tv_secret = device_app
    auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}
    bad_auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, "wrong")}
    issued = form(http, "/oauth/token", {"grant_type": "client_credentials", "scope": "profile"}, **auth)
    token = issued.json()["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    answers = [
        ("token issued", issued),
        ("token, wrong secret", form(http, "/oauth/token", {"grant_type": "client_credentials"}, **bad_auth)),
        ("token, bad grant", form(http, "/oauth/token", {"grant_type": "x"}, **auth)),
        ("introspection", form(http, "/oauth/introspect", {"token": token}, **auth)),
        ("introspection, wrong secret", form(http, "/oauth/introspect", {"token": token}, **bad_auth)),
        ("revocation, unknown token", form(http, "/oauth/revoke", {"token": "oat_unknown"}, **auth)),
        ("revocation, wrong secret", form(http, "/oauth/revoke", {"token": token}, **bad_auth)),
        (
            "device authorization",
            form(
                http,
                "/oauth/device_authorization",
                {"scope": "profile"},
                HTTP_AUTHORIZATION=basic_auth(tv.client_id, tv_secret),
            ),
        ),
        ("device authorization, no client", form(http, "/oauth/device_authorization", {})),
        ("userinfo, a client's token", http.get("/oauth/userinfo", secure=True, **bearer)),
        ("userinfo, no token", http.get("/oauth/userinfo", secure=True)),
        ("api/me", http.get("/api/me", secure=True, **bearer)),
        ("api/me, bad token", http.get("/api/me", secure=True, HTTP_AUTHORIZATION="Bearer nope")),
        ("revocation", form(http, "/oauth/revoke", {"token": token}, **auth)),
        ("api/me, revoked token", http.get("/api/me", secure=True, **bearer)),
    ]
    return answers


def test_every_outcome_runs_without_the_browser_layers_and_never_is_cached(
    http, confidential, device_app, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = every_outcome(http, confidential, device_app)
    # A listener that read a layer would fail quietly (the audit receivers log and swallow
    # errors, so that the log never breaks a request): none did.
    failures = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert failures == []
    recorded = set(AuditEvent.objects.values_list("event_type", flat=True))
    assert {"client_authentication_failed", "token_issued", "token_revoked"} <= recorded, recorded
    statuses = {response.status_code for _label, response in outcomes}
    assert {200, 400, 401} <= statuses, statuses
    for label, response in outcomes:
        assert response.status_code < 500, (label, response.status_code, response.content[:200])
        assert skipped_the_layers(response), label
        assert_site_headers(response, label)
        assert_never_cached(response, label)
        assert not response.cookies, f"{label}: a machine endpoint sets no cookie"


@pytest.mark.parametrize(
    "path, limit",
    [
        ("/oauth/token", "token_ip"),
        ("/oauth/device_authorization", "token_ip"),
        ("/oauth/introspect", "introspect_ip"),
        ("/oauth/revoke", "revoke_ip"),
    ],
)
def test_a_throttled_answer_carries_the_sites_headers(http, settings, confidential, path, limit):
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, limit: "1/60"}
    client, secret = confidential
    auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}
    form(http, path, {"token": "oat_x", "grant_type": "client_credentials"}, **auth)
    response = form(http, path, {"token": "oat_x", "grant_type": "client_credentials"}, **auth)
    assert response.status_code == 429, (path, response.status_code)
    assert skipped_the_layers(response)
    assert_site_headers(response, path)
    assert_never_cached(response, path)


@pytest.mark.parametrize(
    "failure, status", [(InterfaceError("connection already closed"), 503), (RuntimeError("a bug"), 500)]
)
def test_an_outage_or_a_bug_is_answered_with_the_sites_headers(http, confidential, failure, status):
    """The database gone (503, the RFC's JSON) or an unexpected error (Django's 500 page) at every
    machine endpoint that reads the database: still the site's headers, still never cached."""
    client, secret = confidential
    auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}
    token = form(http, "/oauth/token", {"grant_type": "client_credentials"}, **auth).json()["access_token"]
    requests = {
        "oauth-token": lambda: form(http, "/oauth/token", {"grant_type": "client_credentials"}, **auth),
        "oauth-introspect": lambda: form(http, "/oauth/introspect", {"token": token}, **auth),
        "oauth-revoke": lambda: form(http, "/oauth/revoke", {"token": token}, **auth),
        "oauth-device-authorization": lambda: form(http, "/oauth/device_authorization", {}, **auth),
        "api-me": lambda: http.get("/api/me", secure=True, HTTP_AUTHORIZATION=f"Bearer {token}"),
    }

    def fail(execute, sql, params, many, context):
        raise failure

    answered = set()
    for name, send in requests.items():
        with connection.execute_wrapper(fail):
            response = send()
        answered.add(response.status_code)
        assert response.status_code in (status, 400, 401), (name, response.status_code)
        assert skipped_the_layers(response), name
        assert_site_headers(response, name)
        if response.status_code == 503:
            assert_never_cached(response, name)
    assert status in answered, answered


def test_with_the_csrf_token_in_the_session_the_machine_endpoints_still_answer(
    http, settings, confidential, device_app
):
    """CSRF_USE_SESSIONS (a hardening some deployments turn on): Django's CSRF middleware reads
    the session on every request, so the session layer runs for the machine endpoints too; it
    was skipped, and every one of them answered a 500. The other browser layers stay skipped, and
    the sign-in form is still guarded, by the token in its session now."""
    settings.CSRF_USE_SESSIONS = True
    for label, response in every_outcome(http, confidential, device_app):
        assert response.status_code < 500, (label, response.status_code, response.content[:200])
        assert not hasattr(response.wsgi_request, "user"), label
        assert_site_headers(response, label)
        assert_never_cached(response, label)
    browser = HttpClient(enforce_csrf_checks=True)
    page = browser.get(reverse("login"), secure=True)
    assert page.status_code == 200 and "csrftoken" not in page.cookies
    referer = {"HTTP_REFERER": "https://testserver/accounts/login/"}
    forged = browser.post(reverse("login"), {"username": "a", "password": "b"}, secure=True, **referer)
    assert forged.status_code == 403
    token = page.context["csrf_token"]
    posted = browser.post(
        reverse("login"),
        {"username": "a", "password": "b", "csrfmiddlewaretoken": token},
        secure=True,
        **referer,
    )
    assert posted.status_code == 200, "the form's own token passes (a failed sign-in, not a 403)"


HOSTILE_BODIES = [
    ("a=" + "x" * 3_000_000, "application/x-www-form-urlencoded"),  # past DATA_UPLOAD_MAX_MEMORY_SIZE
    ("a=1&" * 2000, "application/x-www-form-urlencoded"),  # past DATA_UPLOAD_MAX_NUMBER_FIELDS
    (b"\xff\xfe=\xff", "application/x-www-form-urlencoded"),  # not UTF-8
    ("a=1", "application/x-www-form-urlencoded; charset=utf-16"),
    ("{}", "application/json"),
    ("a=1", "multipart/form-data; boundary=x"),
]


@pytest.mark.parametrize("name", sorted(NEVER_CACHED))
def test_a_hostile_body_is_a_4xx_with_the_sites_headers(http, confidential, name):
    client, secret = confidential
    for body, media_type in HOSTILE_BODIES:
        response = http.generic(
            "POST",
            reverse(name),
            body,
            content_type=media_type,
            secure=True,
            HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
        )
        where = f"{name} {media_type} {len(body)}"
        assert 400 <= response.status_code < 500, (where, response.status_code)
        assert skipped_the_layers(response), where
        assert_site_headers(response, where)
        assert_never_cached(response, where)
