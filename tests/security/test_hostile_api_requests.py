"""Hostile path parameters and query strings at the operator API (/api/v1/): every route that
takes an identifier from its path, by identifiers no row can have, and the cursor pages by
cursors the caller edited. Each is a problem+json 4xx, never a 500, on SQLite and PostgreSQL.
(Bodies: tests/console/api/test_malformed.py and the fuzzing in test_fuzzing_new_surface.py.)"""

import base64

import pytest
from django.test import Client as HttpClient

from server import services
from tests.console.api.conftest import ALL_SCOPES, api_with, assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    caller = api_with(ALL_SCOPES)
    caller.http = HttpClient(raise_request_exception=False)
    return caller


def cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


# Positions DRF would pass to the database as they came: not a time, a NUL, digits, a number no
# column holds, a time with no time zone, a month 13, a date past PostgreSQL's range.
EDITED_CURSORS = [
    cursor("p=garbage"),
    cursor("p=%00"),
    cursor("p=" + "9" * 40),
    cursor("p=%C2%B2"),
    cursor("p=2026-01-01 00:00:00"),
    cursor("p=2026-13-01 00:00:00+00:00"),
    cursor("r=1&p=garbage"),
]


@pytest.mark.parametrize("path", ["/api/v1/tokens", "/api/v1/audit-events"])
@pytest.mark.parametrize("value", EDITED_CURSORS)
def test_an_edited_cursor_position_is_an_invalid_cursor(api, make_client, end_user, path, value):
    """`cursor=` base64 of "p=garbage" was a 500 (ValidationError in the page's filter)."""
    client, _secret = make_client("Paged")
    services.store_token(
        {"access_token": "oat_" + "a" * 32, "expires_in": 3600},
        client=client,
        user=end_user,
        grant_type="authorization_code",
    )
    body = assert_problem(api.get(path, {"cursor": value}), 404, "not-found")
    assert "cursor" in body["detail"].lower()


@pytest.mark.parametrize("path", ["/api/v1/tokens", "/api/v1/audit-events"])
def test_a_cursor_this_api_wrote_still_turns_the_page(api, make_client, end_user, path):
    client, _secret = make_client("Paged")
    for n in range(3):
        services.store_token(
            {"access_token": f"oat_{n}" + "a" * 32, "expires_in": 3600},
            client=client,
            user=end_user,
            grant_type="authorization_code",
        )
    first = api.get(path, {"limit": 1})
    assert first.status_code == 200, first.content[:300]
    following = first.json()["next"]
    assert following
    second = api.get(following)
    assert second.status_code == 200, second.content[:300]
    assert second.json()["results"] and second.json()["results"] != first.json()["results"]
