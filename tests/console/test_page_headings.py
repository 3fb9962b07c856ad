"""Every page a visitor lands on has a <title> and one <h1> (screen readers list pages by their
title and jump to the h1). The walk of December 2026 (second round) found the console's sign-in
page, where /console/ and /admin/ send a visitor, with neither heading nor h1: Django's admin
login leaves content_title empty and the console's header shows the site name as a link."""

import re

import pytest
from django.test import Client as HttpClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    ["/", "/accounts/login/", "/admin/login/", "/admin/", "/console/", "/developers/", "/account/apps/"],
)
def test_a_visitors_landing_page_has_a_title_and_one_h1(path):
    response = HttpClient().get(path, follow=True)
    assert response.status_code == 200, path
    html = response.content.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title and title.group(1).strip(), f"{path}: no <title>"
    headings = re.findall(r"<h1\b[^>]*>(.*?)</h1>", html, re.S)
    assert len(headings) == 1 and headings[0].strip(), f"{response.redirect_chain}: h1s {headings}"


def test_the_console_sign_in_page_says_what_it_is_for():
    html = HttpClient().get("/admin/login/?next=/console/").content.decode()
    assert re.search(r"<h1\b[^>]*>\s*Sign in to the console\s*</h1>", html)
