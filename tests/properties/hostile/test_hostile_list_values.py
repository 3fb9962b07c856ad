"""The matrix for the console's big lists (`list_cells`): every door by every field of a token or
an audit event they show, by every hostile value. Stored, the value is on the list escaped (the
cell renders it), and inert on the list, the list filtered by it and the detail page."""

from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from oauth_console.audit.models import AuditEvent
from server.models import Token

from . import oracles
from .list_cells import AUDIT_FIELDS, LIST_VALUES, TOKEN_FIELDS, new_world, stored_value

pytestmark = pytest.mark.django_db

TOKENS = reverse("admin:server_token_changelist")
AUDIT = reverse("admin:audit_auditevent_changelist")

CELLS = [
    (kind, field, value)
    for kind, fields in (("token", TOKEN_FIELDS), ("audit", AUDIT_FIELDS))
    for field in fields
    for value in LIST_VALUES
]


@pytest.fixture
def ops(operator) -> HttpClient:
    http = HttpClient()
    http.force_login(operator)
    return http


def _pages(ops: HttpClient, row: Token | AuditEvent) -> dict[str, tuple[str, bool]]:
    """Where the row is seen: (page, whether the list's cells show it) by label."""
    if isinstance(row, Token):
        urls = {
            "token list": (TOKENS, True),
            "token list by client": (f"{TOKENS}?client={row.client_id}&status=revoked", True),
            "token detail": (reverse("admin:server_token_change", args=[row.pk]), False),
        }
    else:
        urls = {
            "audit list": (AUDIT, True),
            "audit list by type": (f"{AUDIT}?{urlencode({'event_type': row.event_type})}", True),
            "audit detail": (reverse("admin:audit_auditevent_change", args=[row.pk]), False),
        }
    if isinstance(row, AuditEvent):
        # Filtered by the hostile value itself: the filter's input shows it back.
        for name in ("client_id", "username"):
            if getattr(row, name):
                urls[f"audit list by {name}"] = (f"{AUDIT}?{urlencode({name: getattr(row, name)})}", True)
        if row.ip_address:
            urls["audit list by IP address"] = (f"{AUDIT}?{urlencode({'ip': row.ip_address})}", True)
    pages = {}
    for label, (url, listed) in urls.items():
        response = ops.get(url)
        if response.status_code == 302 and response["Location"].endswith("?e=1"):
            continue  # a filter value no column can hold (a NUL): the admin's bad-filter page
        assert response.status_code == 200, (label, response.status_code)
        pages[label] = (response.content.decode(), listed)
    assert "token list" in pages or "audit list" in pages
    return pages


@pytest.mark.parametrize(
    "kind, field, value", CELLS, ids=[f"{kind}|{field}|{value[:24]!r}" for kind, field, value in CELLS]
)
def test_a_hostile_value_in_a_listed_field_is_shown_escaped_and_inert(
    ops, django_user_model, settings, kind, field, value
):
    settings.AUDIT_PROXY_COUNT = 1  # X-Forwarded-For names the caller (one trusted proxy)
    world = new_world(django_user_model)
    row_field = (TOKEN_FIELDS if kind == "token" else AUDIT_FIELDS)[field]
    row = row_field.store(world, value)
    if row is None:
        return  # refused: a form error, or a value the database cannot hold
    stored = stored_value(row, field)
    for where, (page, listed) in _pages(ops, row).items():
        oracles.assert_page_inert(page, where)
        shown = listed and row_field.listed and bool(stored.strip())
        oracles.assert_value_escaped(page, stored, f"{where} ({field})", shown=shown)


def test_the_doors_store_what_the_lists_show(ops, django_user_model, settings):
    """The control of the cells above: a plain value goes through every door and is shown."""
    settings.AUDIT_PROXY_COUNT = 1
    values = {"ip_address": "203.0.113.9", "event_type": "token_issued", "outcome": "failure"}
    for fields in (TOKEN_FIELDS, AUDIT_FIELDS):
        for field, row_field in fields.items():
            world = new_world(django_user_model)
            world["user"].username = f"m-{field.split('|')[1]}"
            value = values.get(field.split("|")[1], "plain-value.42")
            row = row_field.store(world, value)
            assert row is not None, field
            assert stored_value(row, field) == value, field
            world["user"].delete()
