"""The people-facing templates render what people need: labels, buttons, CSRF, and no third-party assets."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.base import Message
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import RequestFactory, override_settings
from django.urls import reverse

from server import consent_page

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"
OUR_TEMPLATES = [
    "base.html",
    "home.html",
    "registration/login.html",
    "registration/logged_out.html",
    "oauth/consent.html",
    "oauth/error.html",
    "admin/base_site.html",
    "403.html",
    "404.html",
    "500.html",
    "error_page.html",
    "403_csrf.html",
    "throttled.html",
]


@pytest.fixture
def rf_request():
    def make(path="/", user=None):
        request = RequestFactory().get(path)
        request.user = user or AnonymousUser()
        return request

    return make


def person(**kwargs) -> User:
    """An unsaved user: enough for templates, no database needed."""
    kwargs.setdefault("username", "alice")
    return User(**kwargs)


def consent_context(**client_fields):
    client = SimpleNamespace(
        name="Photo Printer",
        client_id="cl_abc123",
        client_uri="https://printer.example.com",
        logo_uri="https://tracker.example.net/logo.png",
        description="Prints the photos you choose.",
    )
    for key, value in client_fields.items():
        setattr(client, key, value)
    return {
        "client": client,
        "scopes": [("profile", "See your user name and basic profile"), ("read", "Read your data")],
        "user": person(first_name="Alice", last_name="Liddell"),
        "redirect_host": "printer.example.com",
        "form_action": "/oauth/authorize?response_type=code&client_id=cl_abc123&state=xyz",
        # The decision's names and value, as render_consent_page passes them (the view checks them).
        "approve_field": consent_page.APPROVE_FIELD,
        "approve_value": consent_page.APPROVE_VALUE,
        "deny_field": consent_page.DENY_FIELD,
    }


# --- base layout ------------------------------------------------------------------------------------


def test_base_layout_has_landmarks_skip_link_and_vendored_assets(rf_request):
    html = render_to_string("base.html", {}, request=rf_request())
    assert 'href="#main"' in html and "Skip to main content" in html
    assert '<main id="main"' in html
    assert 'aria-label="Main navigation"' in html
    assert "<header>" in html and "<footer" in html
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html
    assert "/static/vendor/bootstrap/js/bootstrap.bundle.min.js" in html
    assert "/static/css/console.css" in html
    assert 'lang="en"' in html


def test_anonymous_visitor_sees_sign_in_with_next_and_no_console_link(rf_request):
    html = render_to_string("base.html", {}, request=rf_request("/developers/apps/"))
    assert re.search(r'href="/accounts/login/\?next=/developers/apps/"[^>]*>Sign in<', html)
    assert 'href="/developers/"' in html and 'href="/account/apps/"' in html
    assert 'href="/admin/"' not in html
    assert "Sign out" not in html


def test_signed_in_user_sees_name_and_sign_out_post_form_with_csrf(rf_request):
    user = person(first_name="Alice", last_name="Liddell")
    html = render_to_string("base.html", {}, request=rf_request("/", user))
    assert "Alice Liddell" in html
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    assert form, "sign-out must be a POST form"
    assert form.group(1) == "/accounts/logout/"
    assert 'name="csrfmiddlewaretoken"' in form.group(2)
    assert "Sign out" in form.group(2)
    assert 'href="/admin/"' not in html  # not staff


def test_console_link_only_for_staff(rf_request):
    html = render_to_string("base.html", {}, request=rf_request("/", person(is_staff=True)))
    assert re.search(r'href="/admin/"[^>]*>Console<', html)


def test_current_section_is_marked_for_assistive_technology(rf_request):
    html = render_to_string("base.html", {}, request=rf_request("/account/apps/"))
    assert re.search(r'class="nav-link active" aria-current="page" href="/account/apps/"', html)
    assert not re.search(r'aria-current="page" href="/developers/"', html)


def test_messages_render_as_bootstrap_alerts_with_error_as_danger(rf_request):
    messages = [
        Message(message_levels.SUCCESS, "Secret rotated."),
        Message(message_levels.ERROR, "Could not delete the app."),
    ]
    html = render_to_string("base.html", {"messages": messages}, request=rf_request())
    assert re.search(r'alert alert-success[^"]*"\s+role="status">\s*Secret rotated\.', html)
    assert re.search(r'alert alert-danger[^"]*"\s+role="alert">\s*Could not delete the app\.', html)
    assert html.count('aria-label="Close"') == 2


# --- sign-in and sign-out ---------------------------------------------------------------------------


def test_login_page_has_labelled_fields_next_and_csrf(rf_request):
    request = rf_request("/accounts/login/")
    html = render_to_string(
        "registration/login.html",
        {"form": AuthenticationForm(request), "next": "/oauth/authorize?client_id=x"},
        request=request,
    )
    assert re.search(r'<label\s+for="id_username"[^>]*>\s*Username', html)
    assert re.search(r'<label\s+for="id_password"[^>]*>\s*Password', html)
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="next" value="/oauth/authorize?client_id=x"' in html
    assert "An application asked you to sign in" in html
    assert re.search(r'<button type="submit"[^>]*>Sign in</button>', html)


def test_login_page_shows_required_errors_next_to_fields(rf_request):
    request = rf_request("/accounts/login/")
    form = AuthenticationForm(request, data={"username": "", "password": ""})
    assert not form.is_valid()
    html = render_to_string("registration/login.html", {"form": form, "next": ""}, request=request)
    assert 'id="id_username"' in html and "is-invalid" in html
    assert re.search(r'id="error_1_id_username"[^>]*>\s*<strong>This field is required\.', html)
    assert re.search(r'id="error_1_id_password"[^>]*>\s*<strong>This field is required\.', html)


@pytest.mark.django_db
def test_login_page_shows_wrong_password_as_form_error(rf_request):
    request = rf_request("/accounts/login/")
    form = AuthenticationForm(request, data={"username": "nobody", "password": "wrong-password"})
    assert not form.is_valid()
    html = render_to_string("registration/login.html", {"form": form, "next": ""}, request=request)
    assert "alert-danger" in html
    assert "Please enter a correct username and password" in html


def test_logged_out_page_offers_sign_in_again(rf_request):
    html = render_to_string("registration/logged_out.html", {}, request=rf_request("/accounts/logout/"))
    assert "You have signed out" in html
    assert re.search(r'href="/accounts/login/"[^>]*>Sign in again<', html)
    # The sign-in link of the navbar does not send people back to the logout URL.
    assert "next=/accounts/logout/" not in html


# --- consent ----------------------------------------------------------------------------------------


def test_consent_page_says_who_asks_what_they_get_and_where_user_returns(rf_request):
    ctx = consent_context()
    html = render_to_string("oauth/consent.html", ctx, request=rf_request("/oauth/authorize", ctx["user"]))
    assert "Photo Printer" in html and "wants to access your account" in html
    assert "cl_abc123" in html
    assert "Prints the photos you choose." in html
    assert "See your user name and basic profile" in html and "Read your data" in html
    assert re.search(r'id="redirect-host">printer\.example\.com<', html)
    assert "Signed in as <strong>Alice Liddell</strong>" in html


def test_consent_form_posts_with_csrf_and_allow_and_deny_buttons(rf_request):
    ctx = consent_context()
    html = render_to_string("oauth/consent.html", ctx, request=rf_request("/oauth/authorize", ctx["user"]))
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html.split("<main")[1], re.S)
    assert form
    assert form.group(1) == "/oauth/authorize?response_type=code&amp;client_id=cl_abc123&amp;state=xyz"
    body = form.group(2)
    assert 'name="csrfmiddlewaretoken"' in body
    assert re.search(r'<button type="submit" name="confirm" value="yes"[^>]*>Allow</button>', body)
    assert re.search(r'<button type="submit" name="deny" value="yes"[^>]*>Deny</button>', body)


def test_consent_page_never_loads_the_client_logo(rf_request):
    ctx = consent_context()
    html = render_to_string("oauth/consent.html", ctx, request=rf_request("/oauth/authorize", ctx["user"]))
    assert "<img" not in html
    assert "tracker.example.net" not in html
    assert re.search(r'class="client-avatar" aria-hidden="true">P<', html)


def test_consent_page_escapes_what_the_client_developer_wrote(rf_request):
    ctx = consent_context(name="<script>alert(1)</script>", description='"><b>free money</b>')
    html = render_to_string("oauth/consent.html", ctx, request=rf_request("/oauth/authorize", ctx["user"]))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>free money</b>" not in html


def test_consent_page_without_scopes_says_so(rf_request):
    ctx = consent_context()
    ctx["scopes"] = []
    html = render_to_string("oauth/consent.html", ctx, request=rf_request("/oauth/authorize", ctx["user"]))
    assert "No special permissions requested" in html
    assert "will be able to:" not in html


# --- authorization errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "headline"),
    [
        ("invalid_client", "We don't recognise the app that sent you here"),
        ("invalid_request", "The sign-in link is not valid"),
        ("unauthorized_client", "This app is not allowed to sign you in right now"),
        ("server_weirdness", "This sign-in request could not be accepted"),
    ],
)
def test_error_page_explains_and_says_what_to_do(rf_request, error, headline):
    ctx = {
        "error": error,
        "description": "Redirect URI https://evil.example/cb is not registered",
        "status": 400,
    }
    html = render_to_string("oauth/error.html", ctx, request=rf_request("/oauth/authorize"))
    assert headline in html
    assert "What you can do" in html
    assert f">{error}<" in html
    assert "Redirect URI https://evil.example/cb is not registered" in html
    assert "Error 400" in html
    # Shown, not redirected: no link to the rejected redirect URI.
    assert 'href="https://evil.example' not in html


# --- home -------------------------------------------------------------------------------------------


def test_home_page_links_every_audience_and_the_metadata(rf_request):
    html = render_to_string(
        "home.html", {"issuer": "https://auth.example.com", "user": AnonymousUser()}, request=rf_request()
    )
    assert "https://auth.example.com" in html
    assert re.search(r'href="/developers/"[^>]*>Open the developer portal<', html)
    assert re.search(r'href="/account/apps/"[^>]*>My authorized apps<', html)
    assert re.search(r'href="/admin/"[^>]*>Open the console<', html)
    assert 'href="/.well-known/oauth-authorization-server"' in html


# --- through the real views ------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_view_uses_our_template_and_signs_in(client, django_user_model):
    django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")
    login_url = reverse("login")
    page = client.get(login_url, {"next": "/account/apps/"})
    assert page.status_code == 200
    assert b"Use your oauth-console account" in page.content
    assert b'name="next" value="/account/apps/"' in page.content

    wrong = client.post(login_url, {"username": "bob", "password": "nope", "next": "/account/apps/"})
    assert wrong.status_code == 200
    assert b"Please enter a correct username and password" in wrong.content

    right = client.post(
        login_url, {"username": "bob", "password": "bob-password-123", "next": "/account/apps/"}
    )
    assert right.status_code == 302 and right["Location"] == "/account/apps/"


@pytest.mark.django_db
def test_sign_out_is_a_post_that_ends_the_session(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("carol", "carol@example.com", "carol-pass-123"))
    assert client.get(reverse("logout")).status_code == 405  # a link or an <img> cannot sign people out
    page = client.post(reverse("logout"))
    # LOGOUT_REDIRECT_URL decides where people land; logged_out.html is shown only when it is unset.
    assert page.status_code == 302 and page["Location"] == settings.LOGOUT_REDIRECT_URL
    assert "_auth_user_id" not in client.session


# --- admin ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_login_page_is_branded_and_keeps_admin_styles(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"<title>[^<]*\| oauth-console</title>", html)
    # The console's navbar brand (one look with /console/, issue 11 item 21).
    brand = r'<a class="console-brand" href="/">.*<span id="site-name">oauth-console</span></a>'
    assert re.search(brand, html)
    assert "/static/admin/css/base.css" in html
    assert "bootstrap" not in html


@pytest.mark.django_db
def test_admin_pages_are_branded_for_staff(client, django_user_model):
    staff = django_user_model.objects.create_superuser("op", "op@example.com", "op-password-123")
    client.force_login(staff)
    # A model page rather than the index: the dashboard teammate owns the admin index template.
    response = client.get("/admin/auth/user/")
    assert response.status_code == 200
    assert b'<span id="site-name">oauth-console</span>' in response.content
    assert b'<a class="active" aria-current="page" href="/admin/">Console</a>' in response.content
    assert b"Django administration" not in response.content
    assert re.search(rb"<title>[^<]*\| oauth-console</title>", response.content)


# --- assets -----------------------------------------------------------------------------------------


def test_vendored_assets_and_licenses_are_present():
    for path in [
        "vendor/bootstrap/css/bootstrap.min.css",
        "vendor/bootstrap/js/bootstrap.bundle.min.js",
        "vendor/bootstrap/LICENSE",
        "vendor/chartjs/chart.umd.min.js",
        "vendor/chartjs/LICENSE.md",
        "css/console.css",
    ]:
        assert finders.find(path), f"static file {path} is missing"
    bootstrap_css = Path(finders.find("vendor/bootstrap/css/bootstrap.min.css")).read_text()
    assert bootstrap_css.startswith('@charset "UTF-8";/*!\n * Bootstrap  v5.')
    chart = Path(finders.find("vendor/chartjs/chart.umd.min.js")).read_text()
    assert "Chart.js v4." in chart[:200]


@pytest.mark.parametrize("name", OUR_TEMPLATES)
def test_templates_load_nothing_from_another_origin(name):
    source = (TEMPLATES_DIR / name).read_text()
    # src= or href= to an absolute URL would be a CDN (or a tracker) at run time.
    assert not re.search(r'(?:src|href)="(?:https?:)?//', source), name


def test_manifest_storage_collects_every_static_file(tmp_path):
    """Production's hashed storage must resolve every reference in the vendored files (source maps)."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/bootstrap/css/bootstrap.min.css" in manifest
    assert "vendor/chartjs/chart.umd.min.js" in manifest
