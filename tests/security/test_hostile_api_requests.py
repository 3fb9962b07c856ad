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


# Identifiers in a path that no row can have: a NUL (PostgreSQL refuses it in a query: a 500),
# digits that are not ASCII, a number past a bigint, a negative one, a long one, a byte that is
# not UTF-8, a lone surrogate's UTF-8 (Django decodes neither: they stay percent-escaped).
HOSTILE_PATH_IDS = [
    "%00",
    "a%00b",
    "%C2%B2",
    "%D9%A3",
    str(2**63),
    str(2**64),
    "-1",
    "x" * 3000,
    "%FF",
    "%ED%A0%80",
]
ROUTES = [
    ("get", "/api/v1/clients/{}"),
    ("patch", "/api/v1/clients/{}"),
    ("delete", "/api/v1/clients/{}"),
    ("post", "/api/v1/clients/{}/disable"),
    ("post", "/api/v1/clients/{}/enable"),
    ("post", "/api/v1/clients/{}/approve"),
    ("post", "/api/v1/clients/{}/reject"),
    ("get", "/api/v1/clients/{}/secrets"),
    ("post", "/api/v1/clients/{}/secrets/rotate"),
    ("post", "/api/v1/clients/{}/secrets/1/expire"),
    ("post", "/api/v1/signing-keys/{}/revoke"),
]


@pytest.mark.parametrize("method, route", ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_an_identifier_no_row_can_have_is_not_found(api, method, route):
    """`/api/v1/clients/%00` was a 500 on PostgreSQL (a NUL in the lookup's parameter)."""
    for value in HOSTILE_PATH_IDS:
        body = {"reason": "hostile path"} if method == "post" else {"name": "N"}
        response = (
            api.get(route.format(value)) if method == "get" else api.send(method, route.format(value), body)
        )
        assert_problem(response, 404, "not-found")


@pytest.mark.parametrize("value", [v for v in HOSTILE_PATH_IDS if v not in ("-1", "%FF", "%ED%A0%80")])
def test_put_to_an_identifier_no_client_can_have_is_refused_naming_client_id(api, value):
    """PUT creates the client its path names: an id no client can have is the client_id rule's
    400 (it was a 500 on PostgreSQL for a NUL, looked up before the rule ran). ("-1" and
    "%FF" are ids a client may have: PUT creates them.)"""
    from server.models import Client

    before = Client.objects.count()
    body = assert_problem(
        api.put(f"/api/v1/clients/{value}", {"name": "Put", "grant_types": ["client_credentials"]}), 400
    )
    assert "client_id" in body["errors"], body
    assert Client.objects.count() == before


@pytest.mark.parametrize(
    "path",
    [
        "/developers/apps/{}/",
        "/developers/apps/{}/edit/",
        "/developers/apps/{}/secret/",
        "/developers/apps/{}/rotate-secret/",
        "/developers/apps/{}/delete/",
        "/account/apps/{}/revoke/",
    ],
)
def test_the_portal_and_account_pages_answer_404_for_an_id_no_client_can_have(operator, path):
    """The developer portal's and the account page's client_id from the path: `%00` was a 500
    on PostgreSQL, like the API's."""
    http = HttpClient(raise_request_exception=False)
    http.force_login(operator)
    for value in HOSTILE_PATH_IDS:
        for method in (http.get, http.post):
            response = method(path.format(value))
            # (405: a page that takes GET only, refused before any lookup)
            assert response.status_code in (404, 405), (path.format(value)[:60], response.status_code)
