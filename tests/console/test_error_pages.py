"""403, 404 and 500 are pages in the console's look (its header, its styles), with DEBUG off."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.template.loader import render_to_string
from django.test import Client as HttpClient
from django.urls import reverse

pytestmark = pytest.mark.django_db

CONSOLE_HEADER = 'aria-label="Main navigation"'


@pytest.fixture(autouse=True)
def production_errors(settings):
    settings.DEBUG = False


@pytest.fixture
def security_user(django_user_model):
    """A member of the `security` group, as migration audit 0002 makes it: reads the audit log only."""
    group, _ = Group.objects.get_or_create(name="security")
    group.permissions.set(
        [Permission.objects.get(codename="view_auditevent", content_type__app_label="audit")]
    )
    user = django_user_model.objects.create_user("sec", "sec@example.com", "sec-password-123", is_staff=True)
    user.groups.add(group)
    return user


def assert_console_page(html: str, status: int) -> None:
    assert CONSOLE_HEADER in html and "oauth-console" in html
    assert "css/console.css" in html and "vendor/bootstrap/css/bootstrap.min.css" in html
    assert f"Error {status}" in html


def test_a_forbidden_admin_page_is_a_console_page_that_points_somewhere_useful(security_user, make_client):
    billing, _ = make_client("Billing")
    http = HttpClient()
    http.force_login(security_user)

    response = http.get(reverse("admin:server_client_change", args=[billing.pk]))

    assert response.status_code == 403
    html = response.content.decode()
    assert_console_page(html, 403)
    assert "403 Forbidden" not in html.split("<body", 1)[1][:200]  # not Django's bare page
    assert 'href="/admin/"' in html  # back to what this user may open
    assert 'href="/console/"' not in html


def test_the_dashboard_refused_to_a_security_analyst_is_a_console_page(security_user):
    http = HttpClient()
    http.force_login(security_user)

    response = http.get("/console/")

    assert response.status_code == 403
    assert_console_page(response.content.decode(), 403)


def test_a_missing_page_is_a_console_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert_console_page(html, 404)
    assert "/no-such-page/" in html


def test_the_500_page_renders_without_a_request_or_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = render_to_string("500.html")

    assert_console_page(html, 500)
    assert "Sign out" not in html  # no user to speak of: the page cannot know who is signed in


@pytest.mark.urls("tests.console.error_urls")
def test_a_failing_view_answers_with_the_console_500_page(client):
    client.raise_request_exception = False

    response = client.get("/boom/")

    assert response.status_code == 500
    html = response.content.decode()
    assert_console_page(html, 500)
    assert "RuntimeError" not in html and "Traceback" not in html
