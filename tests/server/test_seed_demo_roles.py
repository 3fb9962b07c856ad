"""`make run`'s demo data has a user for each kind of person (issue 11, item 20)."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client as HttpClient

from server import demo
from server.models import Client

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO(), skip_checks=True)
    return out.getvalue()


def signed_in(username: str, password: str) -> HttpClient:
    http = HttpClient()
    assert http.login(username=username, password=password)
    return http


def test_seed_demo_makes_a_developer_and_a_security_analyst_and_prints_the_console(settings):
    settings.DEBUG = True
    out = seed()
    for expected in (
        "http://127.0.0.1:8000/console/",
        demo.DEVELOPER_USERNAME,
        demo.DEVELOPER_PASSWORD,
        demo.SECURITY_USERNAME,
        demo.SECURITY_PASSWORD,
    ):
        assert expected in out

    developer = signed_in(demo.DEVELOPER_USERNAME, demo.DEVELOPER_PASSWORD)
    portal = developer.get("/developers/")
    assert portal.status_code == 200
    assert "Demo web app" in portal.content.decode()  # the developer owns the demo apps
    assert developer.get("/admin/").status_code == 302  # not staff

    analyst = signed_in(demo.SECURITY_USERNAME, demo.SECURITY_PASSWORD)
    assert analyst.get("/admin/audit/auditevent/").status_code == 200
    assert analyst.get("/admin/server/client/").status_code == 403

    # Idempotent: a second run resets, never duplicates.
    seed()
    user_model = get_user_model()
    for username in (demo.DEVELOPER_USERNAME, demo.SECURITY_USERNAME):
        assert user_model.objects.filter(username=username).count() == 1
    assert Client.objects.count() == 2
