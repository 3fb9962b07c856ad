"""Hostile path values and query strings on every page of the project, as each kind of user: an
answer (2xx, 3xx, 4xx), never a 500 (tests/security/page_walk.py walks the URL patterns)."""

import pytest

from . import page_walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def walk(django_user_model, settings):
    settings.OAUTH2_RATE_LIMIT_ENABLED = False  # thousands of requests from one address
    browsers, users = page_walk.people(django_user_model)
    return browsers, page_walk.good_values(users)


def _failures(browser, urls) -> list[str]:
    failed = []
    for url in urls:
        response = browser.get(url)
        if response.status_code >= 500:
            failed.append(f"{response.status_code} {url if len(url) < 200 else url[:100] + '...'}")
    return failed


@pytest.mark.parametrize("role", ["anonymous", "end user", "developer", "operator", "security analyst"])
def test_a_hostile_path_value_is_answered_never_a_500(walk, role):
    browsers, good = walk
    failed = []
    for route, _pattern in page_walk.url_patterns():
        values = {**good}
        if (pk := page_walk.object_id(route)) is not None:
            values["object_id"] = pk
        failed += _failures(browsers[role], page_walk.hostile_paths(route, values))
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("role", ["anonymous", "end user", "developer", "operator", "security analyst"])
def test_a_hostile_query_string_is_answered_never_a_500(walk, role):
    """The admin's pages as the staff who reach them; everyone else is sent to sign in there
    before any query is read (the admin_view), so they walk the other pages."""
    browsers, good = walk
    failed = []
    for route, values in page_walk.routes_for(role, good):
        url = page_walk.fill(route, values)
        if url is None:
            continue
        failed += _failures(browsers[role], (f"{url}?{query}" for query in page_walk.hostile_queries()))
    assert not failed, "\n".join(failed)
