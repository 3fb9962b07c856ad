"""Tokens in the console: masked list, filters, capped counts, families, revocation in bulk."""

from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oauth_console.tokens.admin import TokenAdmin
from server import signals
from server.models import Token

pytestmark = pytest.mark.django_db


def changelist() -> str:
    return reverse("admin:server_token_changelist")


def bulk_url() -> str:
    return reverse("admin:server_token_bulk_revoke")


def listed(http, query: str = "") -> list[Token]:
    response = http.get(changelist() + query)
    assert response.status_code == 200, response.status_code
    return list(response.context["cl"].result_list)


@pytest.fixture
def tokens_revoked_events():
    events = []

    def receiver(sender, **kwargs):
        events.append(kwargs)

    signals.tokens_revoked.connect(receiver)
    yield events
    signals.tokens_revoked.disconnect(receiver)


# --- the list ----------------------------------------------------------------------------------


def test_list_masks_tokens_and_never_shows_digests(ops, make_client, make_token, end_user):
    client, _ = make_client()
    token, plain = make_token(client, end_user, refresh=True)
    page = ops.get(changelist()).content.decode()
    assert f"{token.access_token_prefix}…" in page
    assert plain not in page
    assert token.access_token_digest not in page
    assert token.refresh_token_digest not in page
    detail = ops.get(reverse("admin:server_token_change", args=[token.pk])).content.decode()
    assert f"{token.refresh_token_prefix}…" in detail
    assert plain not in detail and token.access_token_digest not in detail


def test_list_query_count_does_not_grow_with_rows(
    ops, make_client, make_token, end_user, django_assert_max_num_queries
):
    clients = [make_client(f"App {index}")[0] for index in range(5)]
    for index in range(60):
        make_token(clients[index % 5], end_user if index % 2 else None)
    # session, user, permissions, capped count, page (client and user joined in)
    with django_assert_max_num_queries(8):
        response = ops.get(changelist())
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 60
    with django_assert_max_num_queries(10):
        response = ops.get(changelist() + f"?client={clients[0].pk}&status=active")
    assert len(response.context["cl"].result_list) == 12


def test_list_is_newest_first_and_never_counts_the_whole_table(
    ops, make_client, make_token, django_assert_max_num_queries
):
    client, _ = make_client()
    old, _ = make_token(client, issued_ago=timedelta(days=2))
    new, _ = make_token(client)
    with CaptureQueriesContext(connection) as queries:
        rows = listed(ops)
    assert [row.pk for row in rows] == [new.pk, old.pk]
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts


@override_settings(CONSOLE_EXACT_COUNT_LIMIT=5)
def test_count_is_capped_beyond_the_limit(ops, make_client, make_token):
    client, _ = make_client()
    for _ in range(12):
        make_token(client)
    # Filtered, so no table-wide estimate (PostgreSQL) stands in for the count.
    response = ops.get(changelist() + f"?client={client.pk}")
    page = response.content.decode()
    assert "more than 5 tokens" in page
    assert len(response.context["cl"].result_list) == 12  # the list itself is complete
    assert response.context["cl"].paginator.is_capped


def test_a_list_the_planner_expects_to_be_far_bigger_than_the_limit_is_not_counted(
    ops, make_client, make_token, monkeypatch
):
    # Ten million tokens, 300,000 of them active: counting even 10,001 of those reads 10,001
    # heap pages (revoked_at is in no index). PostgreSQL's estimate stands in, labelled "about".
    client, _ = make_client()
    for _ in range(3):
        make_token(client)
    asked = []
    monkeypatch.setattr(
        "server.selectors.planner_row_estimate", lambda queryset: asked.append(queryset) or 300_000
    )
    monkeypatch.setattr(TokenAdmin, "list_per_page", 2)  # a full first page: nothing to correct
    with override_settings(CONSOLE_EXACT_COUNT_LIMIT=2), CaptureQueriesContext(connection) as queries:
        response = ops.get(changelist() + "?status=active&o=")
    assert asked, "the planner was asked"
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    cl = response.context["cl"]
    assert cl.paginator.is_capped and cl.paginator.estimated_total == 300_000
    assert "about 300000 tokens" in response.content.decode()
    assert len(cl.result_list) == 2


def test_an_estimate_far_above_the_limit_that_is_not_far_enough_is_counted(
    ops, make_client, make_token, monkeypatch
):
    client, _ = make_client()
    for _ in range(3):
        make_token(client)
    monkeypatch.setattr("server.selectors.planner_row_estimate", lambda queryset: 4)
    monkeypatch.setattr("server.selectors.estimated_row_count", lambda queryset: 4)  # unfiltered
    with override_settings(CONSOLE_EXACT_COUNT_LIMIT=2), CaptureQueriesContext(connection) as queries:
        response = ops.get(changelist())
    assert [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert "more than 2 tokens" in response.content.decode()


@override_settings(CONSOLE_EXACT_COUNT_LIMIT=2)
def test_a_first_page_shorter_than_a_page_corrects_a_wrong_estimate(
    ops, make_client, make_token, monkeypatch
):
    # The planner multiplies the selectivities of combined filters; a first page of 3 rows is
    # the whole list, whatever it expected.
    client, _ = make_client()
    for _ in range(3):
        make_token(client)
    monkeypatch.setattr("server.selectors.planner_row_estimate", lambda queryset: 40_000)
    response = ops.get(changelist() + f"?client={client.pk}&status=active")
    page = response.content.decode()
    assert "about" not in page and "3 tokens" in page
    assert response.context["cl"].result_count == 3 and not response.context["cl"].paginator.is_capped


def test_status_filter(ops, make_client, make_token):
    client, _ = make_client()
    active, _ = make_token(client)
    expired, _ = make_token(client, issued_ago=timedelta(hours=2))
    revoked, _ = make_token(client, revoked=True)
    assert [t.pk for t in listed(ops, "?status=active")] == [active.pk]
    assert [t.pk for t in listed(ops, "?status=expired")] == [expired.pk]
    assert [t.pk for t in listed(ops, "?status=revoked")] == [revoked.pk]


def test_grant_type_client_user_and_date_filters(ops, make_client, make_token, end_user):
    one, _ = make_client("One")
    two, _ = make_client("Two")
    a, _ = make_token(one, end_user, grant_type="authorization_code")
    b, _ = make_token(two, None, grant_type="client_credentials")
    c, _ = make_token(two, end_user, grant_type="refresh_token", issued_ago=timedelta(days=10))
    assert {t.pk for t in listed(ops, "?grant_type=authorization_code")} == {a.pk}
    assert {t.pk for t in listed(ops, f"?client={two.pk}")} == {b.pk, c.pk}
    assert {t.pk for t in listed(ops, f"?user={end_user.pk}")} == {a.pk, c.pk}
    # What the filter's "Past 7 days" link sends: an aware datetime.
    since = (timezone.now() - timedelta(days=1)).replace(microsecond=0).isoformat()
    assert {t.pk for t in listed(ops, "?" + urlencode({"issued_at__gte": since}))} == {a.pk, b.pk}


def test_client_filter_is_an_autocomplete_not_a_dropdown(ops, make_client, make_token):
    clients = [make_client(f"Client number {index}")[0] for index in range(5)]
    make_token(clients[0])
    page = ops.get(changelist() + f"?client={clients[1].pk}").content.decode()
    assert 'data-autocomplete-filter="client"' in page
    assert "admin-autocomplete" in page
    # Only the selected client is rendered as an option, never the whole table.
    assert "Client number 1" in page
    assert "Client number 3" not in page


class FilterSelects(HTMLParser):
    """Each autocomplete filter's <select> on a page: {filter: its attributes}."""

    def __init__(self):
        super().__init__()
        self.selects: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "select" and "data-autocomplete-filter" in attributes:
            self.selects[attributes["data-autocomplete-filter"]] = attributes


def test_autocomplete_filters_keep_their_placeholder(ops, make_client, make_token):
    """select2 shows the select's data-placeholder while nothing is picked: Django's
    AutocompleteSelect sets it to "" (to allow clearing), which left the boxes blank."""
    client, _ = make_client()
    make_token(client)
    for query in ("", f"?client={client.pk}"):
        parser = FilterSelects()
        parser.feed(ops.get(changelist() + query).content.decode())
        assert parser.selects["client"]["data-placeholder"] == "Any client"
        assert parser.selects["user"]["data-placeholder"] == "Any user"
        # Still clearable: select2 clears a single select only when it has a placeholder.
        assert parser.selects["client"]["data-allow-clear"] == "true"


def test_autocomplete_view_finds_clients_for_the_filter(ops, make_client):
    make_client("Findable app")
    response = ops.get(
        reverse("admin:autocomplete"),
        {"app_label": "server", "model_name": "token", "field_name": "client", "term": "Findable"},
    )
    assert response.status_code == 200
    texts = [row["text"] for row in response.json()["results"]]
    assert len(texts) == 1 and texts[0].startswith("Findable app (")


def test_bad_filter_value_is_not_a_server_error(ops):
    response = ops.get(changelist() + "?client=abc")
    assert response.status_code == 302
    assert "e=1" in response["Location"]


def test_search_matches_prefixes_only(ops, make_client, make_token):
    client, _ = make_client()
    token, _ = make_token(client)
    other, _ = make_token(client)
    assert [t.pk for t in listed(ops, f"?q={token.access_token_prefix}")] == [token.pk]
    assert listed(ops, f"?q={token.access_token_digest}") == []
    assert other.pk not in [t.pk for t in listed(ops, f"?q={token.access_token_prefix}")]


def test_token_page_shows_its_refresh_family(ops, make_client, make_token, end_user):
    client, _ = make_client()
    first, _ = make_token(client, end_user, grant_type="authorization_code", refresh=True)
    second, _ = make_token(client, end_user, grant_type="refresh_token", parent=first, refresh=True)
    third, _ = make_token(client, end_user, grant_type="refresh_token", parent=second, refresh=True)
    unrelated, _ = make_token(client, end_user)

    page = ops.get(reverse("admin:server_token_change", args=[second.pk])).content.decode()

    for member in (first, second, third):
        assert reverse("admin:server_token_change", args=[member.pk]) in page
    assert f"rotated from {first.access_token_prefix}…" in page
    assert f"rotated from {second.access_token_prefix}…" in page
    assert reverse("admin:server_token_change", args=[unrelated.pk]) not in page


def test_tokens_cannot_be_added_changed_or_deleted(ops, make_client, make_token):
    client, _ = make_client()
    token, _ = make_token(client)
    assert ops.get(reverse("admin:server_token_add")).status_code == 403
    assert ops.post(reverse("admin:server_token_delete", args=[token.pk]), {"post": "yes"}).status_code == 403
    assert Token.objects.filter(pk=token.pk).exists()


# --- revoke selected -----------------------------------------------------------------------------


def test_revoke_selected_confirms_with_a_count_then_revokes_with_who_and_why(
    ops, ops_user, make_client, make_token, tokens_revoked_events, django_capture_on_commit_callbacks
):
    client, _ = make_client()
    a, _ = make_token(client)
    b, _ = make_token(client)
    already, _ = make_token(client, revoked=True)
    keep, _ = make_token(client)
    selected = [a.pk, b.pk, already.pk]

    confirm = ops.post(changelist(), {"action": "revoke_selected", "_selected_action": selected, "index": 0})
    assert confirm.status_code == 200
    assert confirm.context["count"] == 2
    assert "2 tokens" in confirm.content.decode()
    assert not Token.objects.filter(pk__in=[a.pk, b.pk], revoked_at__isnull=False).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = ops.post(
            changelist(),
            {
                "action": "revoke_selected",
                "_selected_action": selected,
                "select_across": "0",
                "confirm": "yes",
                "reason": "suspicious traffic",
            },
        )
    assert done.status_code == 302
    for token in (a, b):
        token.refresh_from_db()
        assert token.revoked_at is not None
        assert token.revoked_by == "operator:olga"
        assert token.revoked_reason == "suspicious traffic"
    already.refresh_from_db()
    assert already.revoked_reason == "earlier"  # not overwritten
    keep.refresh_from_db()
    assert keep.revoked_at is None
    assert len(tokens_revoked_events) == 1
    assert tokens_revoked_events[0]["count"] == 2
    assert tokens_revoked_events[0]["criteria"] == {"token_ids": sorted(selected)}


def test_revoke_with_nothing_selected_says_so(ops, make_client, make_token):
    client, _ = make_client()
    token, _ = make_token(client)
    response = ops.post(changelist(), {"action": "revoke_selected", "index": 0}, follow=True)
    assert "Items must be selected" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_all_matching_across_pages(ops, make_client, make_token):
    one, _ = make_client("One")
    two, _ = make_client("Two")
    mine = [make_token(one)[0] for _ in range(3)]
    other, _ = make_token(two)
    ops.post(
        changelist() + f"?client={one.pk}",
        {
            "action": "revoke_selected",
            "_selected_action": [mine[0].pk],
            "select_across": "1",
            "confirm": "yes",
            "reason": "all of them",
        },
    )
    assert Token.objects.filter(client=one, revoked_at__isnull=False).count() == 3
    other.refresh_from_db()
    assert other.revoked_at is None


# --- bulk revocation page ------------------------------------------------------------------------


def test_bulk_revoke_all_tokens_of_a_client(
    ops, make_client, make_token, tokens_revoked_events, django_capture_on_commit_callbacks
):
    target, _ = make_client("Target")
    bystander, _ = make_client("Bystander")
    for _ in range(4):
        make_token(target)
    make_token(target, revoked=True)
    spared, _ = make_token(bystander)

    form = ops.get(bulk_url() + f"?client={target.pk}")
    assert form.status_code == 200
    assert form.context["form"].initial["client_id"] == target.client_id

    confirm = ops.post(bulk_url(), {"client_id": target.client_id, "reason": "compromised"})
    assert confirm.status_code == 200
    assert confirm.context["count"] == 4
    assert Token.objects.filter(client=target, revoked_at__isnull=True).count() == 4

    with django_capture_on_commit_callbacks(execute=True):
        done = ops.post(
            bulk_url(), {"client_id": target.client_id, "reason": "compromised", "confirm": "yes"}
        )
    assert done.status_code == 302
    assert Token.objects.filter(client=target, revoked_at__isnull=True).count() == 0
    assert Token.objects.filter(client=target, revoked_reason="compromised").count() == 4
    spared.refresh_from_db()
    assert spared.revoked_at is None
    assert tokens_revoked_events[-1]["count"] == 4
    assert tokens_revoked_events[-1]["criteria"] == {"client_id": target.client_id}


def test_bulk_revoke_all_tokens_of_a_user(ops, make_client, make_token, end_user, django_user_model):
    other_user = django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")
    one, _ = make_client("One")
    two, _ = make_client("Two")
    for client in (one, two):
        make_token(client, end_user)
    spared, _ = make_token(one, other_user)

    confirm = ops.post(bulk_url(), {"username": "alice", "reason": "account compromised"})
    assert confirm.context["count"] == 2
    ops.post(bulk_url(), {"username": "alice", "reason": "account compromised", "confirm": "yes"})

    assert Token.objects.filter(user=end_user, revoked_at__isnull=True).count() == 0
    spared.refresh_from_db()
    assert spared.revoked_at is None


def test_bulk_revoke_tokens_issued_before_a_date(ops, make_client, make_token):
    client, _ = make_client()
    old, _ = make_token(client, issued_ago=timedelta(days=5), lifetime=timedelta(days=30))
    new, _ = make_token(client)
    cutoff = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    ops.post(bulk_url(), {"issued_before": cutoff, "reason": "key rollover", "confirm": "yes"})
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.revoked_at is not None
    assert new.revoked_at is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason": "x"}, "__all__"),
        ({"client_id": "no-such-client", "reason": "x"}, "client_id"),
        ({"username": "nobody", "reason": "x"}, "username"),
        ({"issued_before": "yesterday", "reason": "x"}, "issued_before"),
        ({"client_id": "", "username": "alice", "reason": ""}, "reason"),
    ],
)
def test_bulk_revoke_refuses_bad_input_and_revokes_nothing(
    ops, make_client, make_token, end_user, data, field
):
    client, _ = make_client()
    make_token(client, end_user)
    response = ops.post(bulk_url(), {**data, "confirm": "yes"})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Token.objects.filter(revoked_at__isnull=False).exists()


def test_bulk_revoke_with_nothing_left_to_revoke_says_so(ops, make_client, make_token):
    client, _ = make_client()
    make_token(client, revoked=True)
    response = ops.post(bulk_url(), {"client_id": client.client_id, "reason": "x"})
    assert response.context["count"] == 0
    assert "nothing to revoke" in response.content.decode()


# --- export ------------------------------------------------------------------------------------


def test_token_metadata_export_has_no_values_or_digests(
    ops, make_client, make_token, end_user, django_assert_max_num_queries
):
    client, _ = make_client("Exported")
    tokens = [make_token(client, end_user, refresh=True) for _ in range(5)]
    export = reverse("admin:server_token_export")
    with django_assert_max_num_queries(10):
        response = ops.post(
            export,
            {
                "format": "0",
                "tokenmetadataresource_id": True,
                "tokenmetadataresource_access_token_prefix": True,
                "tokenmetadataresource_client_id": True,
                "tokenmetadataresource_username": True,
                "tokenmetadataresource_status": True,
            },
        )
    assert response.status_code == 200, response.content[:500]
    body = response.content.decode()
    for token, plain in tokens:
        assert token.access_token_prefix in body
        assert plain not in body
        assert token.access_token_digest not in body
        assert token.refresh_token_digest not in body
    assert client.client_id in body and "alice" in body and "active" in body
    assert "digest" not in body.splitlines()[0]


def test_facet_counts_are_never_offered(ops, make_client, make_token, django_assert_max_num_queries):
    client, _ = make_client()
    make_token(client)
    with django_assert_max_num_queries(8):
        page = ops.get(changelist() + "?_facets=True").content.decode()
    assert "Show counts" not in page


def test_the_quick_action_checkbox_is_djangos_markup(make_client, make_token):
    # Written directly instead of a widget rendered per row (a fifth of the list's CPU time);
    # the admin's actions script finds the rows by this markup, so it must stay Django's.
    from django.contrib import admin
    from django.contrib.admin.options import ModelAdmin

    from oauth_console.audit.models import AuditEvent

    client, _ = make_client()
    token, _ = make_token(client)
    token_admin = admin.site._registry[Token]
    assert token_admin.action_checkbox(token) == ModelAdmin.action_checkbox(token_admin, token)
    event = AuditEvent.objects.order_by("-pk").first()
    audit_admin = admin.site._registry[AuditEvent]
    assert audit_admin.action_checkbox(event) == ModelAdmin.action_checkbox(audit_admin, event)
