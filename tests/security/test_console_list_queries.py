"""Hostile query strings on the console's admin lists (the token list and the audit log render
their own rows, `oauth_console.admin_rows`; the others are Django's): every parameter a list
reads or reflects (ordering, search, page, each filter, one it does not know) by hostile values
(the matrix's, tests/properties/hostile/values.py). A list answers its page, or the admin's
"?e=1" page for a filter it cannot apply; never a 500, and nothing it reflects is markup."""

import pytest
from django.contrib import admin
from django.test import Client as HttpClient
from django.urls import reverse

from oauth_console.audit import recorder
from server import services
from server.models import Client
from tests.properties.hostile import oracles
from tests.properties.hostile.values import HOSTILE_ATTRIBUTE_TEXT, HOSTILE_TEXT, HOSTILE_URIS

pytestmark = pytest.mark.django_db

TOKENS = reverse("admin:server_token_changelist")
AUDIT = reverse("admin:audit_auditevent_changelist")
CLIENTS = reverse("admin:server_client_changelist")

# Markup, quotes that would leave an attribute, script URLs, bidi, a long value, the row
# renderer's own placeholder for the primary key, ids that are not ids.
HOSTILE_QUERY_VALUES = [
    *HOSTILE_TEXT[6:9],
    *HOSTILE_ATTRIBUTE_TEXT,
    *HOSTILE_URIS[:2],
    "x" * 3000,
    "0console0pk0",
    "²",
    "٣",
    "9" * 30,
    "-1",
    "1.5",
    "",
    " ",
]
# What each list reads from its query string: Django's ordering, search, page and "all", each
# filter's parameters, and a name no filter has.
PARAMETERS = {
    TOKENS: ["o", "q", "p", "all", "client", "user", "status", "grant_type", "issued_at__gte", 'x"<'],
    AUDIT: ["o", "q", "p", "event_type", "outcome", "client_id", "username", "ip", "since", "until", 'x"<'],
    CLIENTS: ["o", "q", "p", 'x"<'],
}


@pytest.fixture
def root(operator, make_client, end_user):
    client, _secret = make_client("Listed")
    services.store_token(
        {"access_token": "oat_" + "a" * 32, "expires_in": 3600},
        client=client,
        user=end_user,
        grant_type="authorization_code",
    )
    recorder.insert([recorder.build_event("token_issued", client_id=client.client_id, username="alice")])
    http = HttpClient(raise_request_exception=False)
    http.force_login(operator)
    return http


def assert_answered(response, where: str) -> None:
    """The list's page, inert, or the admin's page for a filter it refused."""
    assert response.status_code in (200, 302), (where, response.status_code)
    if response.status_code == 302:
        assert response["Location"].endswith("e=1"), (where, response["Location"])
        return
    page = response.content.decode()
    oracles.assert_page_inert(page, where)


@pytest.mark.parametrize(
    "url, parameter", [(url, parameter) for url, names in PARAMETERS.items() for parameter in names]
)
def test_a_hostile_query_value_is_a_page_or_a_refused_filter_never_markup(root, url, parameter):
    for value in HOSTILE_QUERY_VALUES:
        response = root.get(url, {parameter: value})
        where = f"{url}?{parameter}={value[:24]!r}"
        assert_answered(response, where)
        if response.status_code == 200:
            oracles.assert_value_escaped(response.content.decode(), value, where, shown=False)


@pytest.mark.parametrize("parameter", ["client", "user"])
@pytest.mark.parametrize("value", ["²", "٣", "9" * 30, "9" * 5000, "-1", "0x1"], ids=lambda v: ascii(v)[:20])
def test_an_id_filter_refuses_what_is_not_an_id(root, parameter, value):
    """`?client=²`: "²".isdigit() is true and int() refuses it (it was a 500); a number past
    a bigint fails in the database (SQLite: a 500); int() refuses more than 4300 digits (a 500
    too). All are the admin's "?e=1" page."""
    response = root.get(TOKENS, {parameter: value})
    assert response.status_code == 302 and response["Location"].endswith("?e=1"), (
        response.status_code,
        response.get("Location"),
    )


def _filter_parameters(http, url: str) -> list[str] | None:
    """The parameters of the list's filters; None for a page of its own (no ChangeList)."""
    response = http.get(url)
    assert response.status_code == 200, (url, response.status_code)
    cl = response.context.get("cl")
    if cl is None:
        return None
    return [name for spec in cl.filter_specs for name in spec.expected_parameters()]


def test_a_nul_in_any_filter_of_any_console_list_is_a_refused_filter(root):
    """PostgreSQL refuses a NUL in a text parameter, and only when the page's query runs:
    `?event_type=%00` on the audit log was a 500. Every registered model admin's list refuses it
    as a bad filter instead (on SQLite too, where it was a filter that matched nothing), Django's
    and other apps' admins (groups, the task queue's results) included."""
    checked = 0
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        names = _filter_parameters(root, url)
        if names is None:  # the webhook list: its own page, which reads no filter
            assert root.get(url, {"status": "nul\x00"}).status_code == 200, url
            continue
        names = names or [model._meta.pk.attname]
        for name in names:
            response = root.get(url, {name: "nul\x00"})
            assert response.status_code == 302, (url, name, response.status_code)
            assert response["Location"].endswith("?e=1"), (url, name, response["Location"])
            checked += 1
    assert checked >= 25


def test_an_id_past_the_range_through_any_relation_of_any_list_is_a_refused_filter(root):
    """Any list accepts a filter on a field or relation by its bare name (`lookup_allowed`), and
    Django refuses an integer past a bigint for an integer field but not through a relation:
    `?user=<2**63>` on the groups list and on the device authorizations was a 500 (SQLite:
    OverflowError when the page's query ran). Every relation of every list refuses it."""
    checked = 0
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        if _filter_parameters(root, url) is None:
            continue
        for field in model._meta.get_fields():
            if not field.is_relation:
                continue
            for value in (str(2**63), f"1,{2**63}"):
                name = field.name if value.isdigit() else f"{field.name}__in"
                response = root.get(url, {name: value})
                assert response.status_code in (200, 302), (url, name, response.status_code)
                if response.status_code == 302:
                    assert response["Location"].endswith("?e=1"), (url, name, response["Location"])
                checked += 1
    assert checked >= 20


EXPORTS = [
    reverse("admin:server_token_export"),
    reverse("admin:audit_auditevent_export"),
    reverse("admin:server_client_export"),
]


@pytest.mark.parametrize("url", EXPORTS)
@pytest.mark.parametrize(
    "query", [{"page": "1"}, {"status": "nul\x00"}, {"client": "²"}, {"user": str(2**63)}]
)
def test_an_export_with_a_filter_its_list_refuses_exports_nothing_and_says_why(root, url, query):
    """The export builds its list from the query string, and let the list's refusal through:
    any parameter the list has no filter for (?page=1) was a 500. Now: back to the list, with
    a message that says nothing was exported and why."""
    response = root.get(url, query)
    assert response.status_code == 302, (url, query, response.status_code)
    assert response["Location"] == url.removesuffix("export/"), response["Location"]
    page = root.get(response["Location"])
    assert "Nothing was exported" in page.content.decode()
    # The list's own filters still reach the export (the Export link carries them).
    assert root.get(url, {"o": "1"}).status_code == 200


@pytest.mark.parametrize(
    "value", ["²", "٣", str(2**63), "9" * 30, "9" * 5000, "-1", "%00", "nul\x00"], ids=lambda v: ascii(v)[:20]
)
def test_the_bulk_revoke_page_ignores_a_prefill_that_is_not_an_id(root, value):
    """The token list's "Revoke matching" link prefills the form (?client=<pk>&user=<pk>):
    `?client=²` passed isdigit() and int() refused it (a 500 on both databases). A prefill that
    is not an id is no prefill; a real one still fills the form."""
    url = reverse("admin:server_token_bulk_revoke")
    response = root.get(url, {"client": value, "user": value})
    assert response.status_code == 200, (value, response.status_code)
    assert response.context["form"].initial == {}
    client = Client.objects.get(name="Listed")
    filled = root.get(url, {"client": str(client.pk)})
    assert filled.context["form"].initial == {"client_id": client.client_id}
