"""Clients in the console: list, create (secret once), change, rotate, expire, status, delete."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from server import credentials
from server.models import Client, ClientSecret
from tests.console.approval_pages import approve_from_the_list, approve_on_page

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:server_client_changelist"


def add_url() -> str:
    return reverse("admin:server_client_add")


def change_url(client: Client) -> str:
    return reverse("admin:server_client_change", args=[client.pk])


def create_form(**overrides) -> dict:
    data = {
        "name": "Billing app",
        "client_type": "confidential",
        "owner": "",
        "description": "",
        "redirect_uris": "https://billing.example.com/callback",
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": ["profile", "read"],
        "token_endpoint_auth_method": "",
        "client_uri": "",
        "logo_uri": "",
        "contacts": "",
    }
    data.update(overrides)
    return data


def change_form(client: Client, **overrides) -> dict:
    """The admin change form as posted, with the client's current settings."""
    data = {
        "name": client.name,
        "description": client.description,
        "redirect_uris": "\n".join(client.redirect_uri_list),
        "grant_types": client.grant_type_list,
        "scope": client.scope_list,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "client_uri": "",
        "logo_uri": "",
        "contacts": "",
        # The read-only secrets inline still posts its management form.
        "secrets-TOTAL_FORMS": "0",
        "secrets-INITIAL_FORMS": "0",
        "secrets-MIN_NUM_FORMS": "0",
        "secrets-MAX_NUM_FORMS": "0",
    }
    data.update(overrides)
    return data


# --- list ------------------------------------------------------------------------------------


def test_list_shows_active_token_counts_and_last_use_without_a_query_per_row(
    ops, make_client, make_token, django_assert_max_num_queries
):
    busy, _ = make_client("Busy app")
    idle, _ = make_client("Idle app")
    make_token(busy)
    make_token(busy)
    make_token(busy, revoked=True)
    make_token(busy, issued_ago=timedelta(hours=3))  # expired
    for index in range(20):
        make_client(f"Filler {index}")

    # session, user, count, page (owner joined), three stats queries, filter/search extras; on
    # PostgreSQL one more: the planner's estimate of the listed clients' active tokens (above
    # CONSOLE_EXACT_COUNT_LIMIT they come from the kept count instead of the first stats query).
    with django_assert_max_num_queries(10 + (connection.vendor == "postgresql")):
        response = ops.get(reverse(CHANGELIST))

    assert response.status_code == 200
    rows = {client.pk: client for client in response.context["cl"].result_list}
    assert rows[busy.pk].token_stats.active_tokens == 2
    assert rows[busy.pk].token_stats.last_used_at is not None
    assert rows[idle.pk].token_stats.active_tokens == 0
    assert rows[idle.pk].token_stats.last_used_at is None


def test_list_filters_by_status_type_and_grant_type_and_searches_owner(ops, make_client, end_user):
    web, _ = make_client("Web app", owner=end_user)
    spa, _ = make_client("Single page", client_type=Client.Type.PUBLIC)
    pending, _ = make_client(
        "Waiting", status=Client.Status.PENDING, grant_types=["client_credentials"], redirect_uris=[]
    )

    def listed(query: str) -> set[int]:
        response = ops.get(reverse(CHANGELIST) + query)
        assert response.status_code == 200
        return {client.pk for client in response.context["cl"].result_list}

    assert listed("?status__exact=pending") == {pending.pk}
    assert listed("?client_type__exact=public") == {spa.pk}
    assert listed("?grant_type=client_credentials") == {web.pk, pending.pk}
    assert listed("?q=alice") == {web.pk}


# --- create ------------------------------------------------------------------------------------


def test_create_confidential_client_shows_the_secret_once_and_stores_only_its_digest(ops, ops_user):
    response = ops.post(add_url(), create_form(), follow=True)  # POST -> 302 -> shown-once page

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    client = Client.objects.get(name="Billing app")
    assert client.source == Client.Source.OPERATOR
    assert client.client_type == Client.Type.CONFIDENTIAL
    secret = response.context["secret"]
    assert secret.startswith(credentials.PREFIXES["client_secret"])
    page = response.content.decode()
    assert secret in page
    assert "only time this secret is shown" in page
    assert client.client_id in page
    row = ClientSecret.objects.get(client=client)
    assert row.digest == credentials.digest(secret) and row.digest != secret
    assert client.check_client_secret(secret)
    # Never again: the client's page shows the prefix only.
    again = ops.get(change_url(client)).content.decode()
    assert secret not in again
    assert row.prefix in again
    assert row.digest not in again


def test_create_public_client_has_no_secret(ops):
    response = ops.post(
        add_url(),
        create_form(
            name="Phone app", client_type="public", grant_types=["authorization_code", "refresh_token"]
        ),
        follow=True,
    )
    assert response.status_code == 200
    client = Client.objects.get(name="Phone app")
    assert client.token_endpoint_auth_method == "none"
    assert response.context["secret"] is None
    assert not ClientSecret.objects.filter(client=client).exists()


def test_create_sets_owner_by_user_name(ops, end_user):
    ops.post(add_url(), create_form(owner="alice"))
    assert Client.objects.get(name="Billing app").owner == end_user


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"redirect_uris": "http://billing.example.com/cb"}, "redirect_uris", "plain http"),
        ({"redirect_uris": "https://billing.example.com/cb#frag"}, "redirect_uris", "fragment"),
        ({"redirect_uris": "https://*.example.com/cb"}, "redirect_uris", "wildcards"),
        ({"redirect_uris": ""}, "redirect_uris", "needs at least one redirect URI"),
        ({"scope": ["profile", "admin"]}, "scope", "Select a valid choice"),
        ({"grant_types": ["password"]}, "grant_types", "Select a valid choice"),
        ({"grant_types": []}, "grant_types", "required"),
        (
            {"client_type": "public", "grant_types": ["client_credentials"]},
            "grant_types",
            "cannot use client_credentials",
        ),
        ({"owner": "nobody"}, "owner", "No user is called"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_create_refuses_bad_input_next_to_the_field_and_writes_nothing(ops, overrides, field, message):
    response = ops.post(add_url(), create_form(**overrides))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not Client.objects.exists()
    assert not ClientSecret.objects.exists()


def test_loopback_http_redirect_uri_is_accepted(ops):
    response = ops.post(add_url(), create_form(redirect_uris="http://127.0.0.1:8080/cb"), follow=True)
    assert response.status_code == 200
    assert Client.objects.get().redirect_uri_list == ["http://127.0.0.1:8080/cb"]


# --- change ------------------------------------------------------------------------------------


def test_change_form_updates_through_the_service(ops, make_client):
    client, _ = make_client("Old name")
    response = ops.post(
        change_url(client),
        change_form(
            client, name="New name", redirect_uris="https://a.example.com/cb\nhttps://b.example.com/cb"
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    client.refresh_from_db()
    assert client.name == "New name"
    assert client.redirect_uri_list == ["https://a.example.com/cb", "https://b.example.com/cb"]


def test_change_form_shows_policy_errors_and_keeps_the_client(ops, make_client):
    client, _ = make_client("Keep me")
    response = ops.post(change_url(client), change_form(client, redirect_uris="https://x.example.com/*"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "wildcards" in " ".join(form.errors["redirect_uris"])
    client.refresh_from_db()
    assert client.redirect_uri_list == ["https://app.example.com/callback"]


# --- rotate and expire ---------------------------------------------------------------------------


def rotate_url(client: Client) -> str:
    return reverse("admin:server_client_rotate_secret", args=[client.pk])


def test_rotate_page_lists_secrets_with_prefix_and_dates(ops, make_client):
    client, _ = make_client()
    response = ops.get(rotate_url(client))
    assert response.status_code == 200
    row = ClientSecret.objects.get(client=client)
    page = response.content.decode()
    assert f"{row.prefix}…" in page
    assert row.digest not in page
    assert 'value="24h"' in page and "checked" in page


def test_rotate_with_grace_period_keeps_both_secrets_working_until_it_ends(ops, make_client):
    client, old_secret = make_client()
    before = timezone.now()

    response = ops.post(rotate_url(client), {"grace": "1h"}, follow=True)  # POST -> 302 -> GET

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new_secret = response.context["secret"]
    assert new_secret in response.content.decode()
    assert new_secret != old_secret
    old_row = ClientSecret.objects.get(digest=credentials.digest(old_secret))
    assert before + timedelta(minutes=59) < old_row.expires_at <= timezone.now() + timedelta(hours=1)
    assert client.check_client_secret(old_secret)
    assert client.check_client_secret(new_secret)

    # "Expire now" on the old one: it stops working, the new one keeps working.
    expire = reverse("admin:server_client_expire_secret", args=[client.pk, old_row.pk])
    assert ops.get(expire).status_code == 200
    assert client.check_client_secret(old_secret)  # a GET changes nothing
    response = ops.post(expire)
    assert response.status_code == 302
    assert not client.check_client_secret(old_secret)
    assert client.check_client_secret(new_secret)


def test_rotate_immediately_ends_the_old_secret_at_once(ops, make_client):
    client, old_secret = make_client()
    new_secret = ops.post(rotate_url(client), {"grace": "immediately"}, follow=True).context["secret"]
    assert not client.check_client_secret(old_secret)
    assert client.check_client_secret(new_secret)


def test_rotate_refuses_an_unknown_grace_period(ops, make_client):
    client, _ = make_client()
    response = ops.post(rotate_url(client), {"grace": "forever"})
    assert response.status_code == 400
    assert "grace" in response.context["form"].errors
    assert ClientSecret.objects.filter(client=client).count() == 1
    assert ClientSecret.objects.get(client=client).expires_at is None


def test_public_client_has_no_rotation_page(ops, make_client):
    client, _ = make_client("SPA", client_type=Client.Type.PUBLIC)
    assert ops.get(rotate_url(client)).status_code == 404


def test_expire_secret_of_another_client_is_not_found(ops, make_client):
    mine, _ = make_client("Mine")
    other, _ = make_client("Other")
    other_secret = ClientSecret.objects.get(client=other)
    response = ops.post(reverse("admin:server_client_expire_secret", args=[mine.pk, other_secret.pk]))
    assert response.status_code == 404
    assert ClientSecret.objects.get(pk=other_secret.pk).expires_at is None


# --- status ------------------------------------------------------------------------------------


def status_url(client: Client, action: str) -> str:
    return reverse("admin:server_client_change_status", args=[client.pk, action])


def test_disable_then_enable_keeps_everything(ops, make_client, make_token):
    client, _ = make_client()
    token, _ = make_token(client)

    assert ops.get(status_url(client, "disable")).status_code == 200
    response = ops.post(status_url(client, "disable"), {"reason": "leaked secret"})
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.status == Client.Status.DISABLED
    assert client.status_reason == "leaked secret"
    token.refresh_from_db()
    assert token.revoked_at is None  # disabled, not revoked: enabling restores it

    ops.post(status_url(client, "enable"), {"reason": ""})
    client.refresh_from_db()
    assert client.status == Client.Status.ACTIVE
    assert Client.objects.count() == 1


@pytest.mark.parametrize(("action", "expected"), [("approve", "active"), ("reject", "rejected")])
def test_pending_client_is_approved_or_rejected(ops, make_client, action, expected):
    client, _ = make_client("Self-registered", status=Client.Status.PENDING)
    assert approve_on_page(ops, status_url(client, action), reason="checked").status_code == 302
    client.refresh_from_db()
    assert client.status == expected


def test_status_action_that_does_not_apply_changes_nothing(ops, make_client):
    client, _ = make_client()
    response = ops.post(status_url(client, "approve"), {"reason": ""})
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.status == Client.Status.ACTIVE
    assert ops.get(status_url(client, "explode")).status_code == 404


def test_client_page_offers_the_actions_that_apply(ops, make_client):
    client, _ = make_client()
    page = ops.get(change_url(client)).content.decode()
    assert status_url(client, "disable") in page
    assert status_url(client, "approve") not in page
    assert rotate_url(client) in page
    assert reverse("admin:server_token_bulk_revoke") + f"?client={client.pk}" in page


def test_bulk_approve_action_approves_only_pending_clients(ops, make_client):
    pending, _ = make_client("Pending", status=Client.Status.PENDING)
    disabled, _ = make_client("Disabled", status=Client.Status.DISABLED)
    response = approve_from_the_list(ops, reverse(CHANGELIST), "approve_selected", [pending.pk, disabled.pk])
    assert response.status_code == 302
    pending.refresh_from_db()
    disabled.refresh_from_db()
    assert pending.status == Client.Status.ACTIVE
    assert disabled.status == Client.Status.DISABLED


# --- delete ------------------------------------------------------------------------------------


def test_delete_confirms_with_counts_and_deletes_through_the_service(ops, make_client, make_token):
    client, _ = make_client()
    for _ in range(3):
        make_token(client)
    delete = reverse("admin:server_client_delete", args=[client.pk])
    confirm = ops.get(delete)
    assert confirm.status_code == 200
    assert dict(confirm.context["model_count"])["tokens"] == 3

    response = ops.post(delete, {"post": "yes"})

    assert response.status_code == 302
    assert not Client.objects.filter(pk=client.pk).exists()


@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        ("reject_selected", Client.Status.PENDING, Client.Status.REJECTED),
        ("disable_selected", Client.Status.ACTIVE, Client.Status.DISABLED),
    ],
)
def test_bulk_status_actions(ops, make_client, action, before, after):
    target, _ = make_client("Target", status=before)
    untouched, _ = make_client("Untouched", status=before)
    asked = ops.post(reverse(CHANGELIST), {"action": action, "_selected_action": [target.pk], "index": 0})
    assert asked.status_code == 200  # a confirmation first (oauth_console/admin_confirm.py)
    target.refresh_from_db()
    assert target.status == before
    response = ops.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [target.pk], "confirm": "yes"}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    untouched.refresh_from_db()
    assert target.status == after
    assert untouched.status == before
