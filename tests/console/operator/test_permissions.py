"""Who may do what in the console: staff only; view, manage, rotate and revoke are separate."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client as HttpClient
from django.urls import reverse

from server.models import Client, ClientSecret

pytestmark = pytest.mark.django_db


def perms(group: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group).permissions.select_related("content_type")
    }


def test_operator_groups_exist_with_the_right_permissions():
    operators = perms("operators")
    read_only = perms("read-only operators")
    for codename in ("manage_clients", "rotate_client_secret", "revoke_tokens", "view_client", "view_token"):
        assert f"server.{codename}" in operators
    assert "auth.view_user" in operators and "auth.view_user" in read_only
    assert {"server.view_client", "server.view_token", "server.view_clientsecret"} <= read_only
    assert all(p.split(".")[1].startswith("view_") for p in read_only)


def test_operators_manage_apis_and_read_only_operators_see_them(ops, readonly):
    """APIs (RFC 8707 resource servers) came after the groups were made: their permissions are
    granted by their own migration, or only superusers could open the page."""
    assert {"server.add_api", "server.change_api", "server.delete_api", "server.view_api"} <= perms(
        "operators"
    )
    assert "server.view_api" in perms("read-only operators")
    assert "server.change_api" not in perms("read-only operators")
    apis = reverse("admin:server_api_changelist")
    assert ops.get(apis).status_code == 200
    assert ops.get(reverse("admin:server_api_add")).status_code == 200
    assert readonly.get(apis).status_code == 200
    assert readonly.get(reverse("admin:server_api_add")).status_code == 403


def test_read_only_operator_sees_everything(readonly, make_client, make_token):
    client, _ = make_client()
    token, _ = make_token(client)
    for url in (
        reverse("admin:server_client_changelist"),
        reverse("admin:server_client_change", args=[client.pk]),
        reverse("admin:server_token_changelist"),
        reverse("admin:server_token_change", args=[token.pk]),
        reverse("admin:server_client_export"),
        reverse("admin:server_token_export"),
        "/console/",
    ):
        assert readonly.get(url).status_code == 200, url


def test_read_only_operator_changes_nothing(readonly, make_client, make_token):
    client, secret = make_client("Untouchable")
    token, _ = make_token(client)
    secret_row = ClientSecret.objects.get(client=client)
    page = readonly.get(reverse("admin:server_client_change", args=[client.pk])).content.decode()
    for forbidden in ("rotate-secret/", "status/disable/", "revoke/?client=", "/expire/"):
        assert forbidden not in page
    tokens_page = readonly.get(reverse("admin:server_token_changelist")).content.decode()
    assert "revoke_selected" not in tokens_page
    assert "Revoke in bulk" not in tokens_page

    attempts = [
        ("get", reverse("admin:server_client_add"), {}),
        ("post", reverse("admin:server_client_add"), {"name": "Sneaky", "client_type": "confidential"}),
        ("post", reverse("admin:server_client_change", args=[client.pk]), {"name": "Renamed"}),
        ("post", reverse("admin:server_client_rotate_secret", args=[client.pk]), {"grace": "immediately"}),
        ("post", reverse("admin:server_client_expire_secret", args=[client.pk, secret_row.pk]), {}),
        ("post", reverse("admin:server_client_change_status", args=[client.pk, "disable"]), {"reason": "x"}),
        ("post", reverse("admin:server_client_delete", args=[client.pk]), {"post": "yes"}),
        (
            "post",
            reverse("admin:server_token_bulk_revoke"),
            {"client_id": client.client_id, "reason": "x", "confirm": "yes"},
        ),
        ("get", reverse("admin:server_client_import"), {}),
    ]
    for method, url, data in attempts:
        response = getattr(readonly, method)(url, data)
        assert response.status_code == 403, (url, response.status_code)
    # The action is not offered, so posting it changes nothing either.
    readonly.post(
        reverse("admin:server_token_changelist"),
        {
            "action": "revoke_selected",
            "_selected_action": [token.pk],
            "confirm": "yes",
            "reason": "x",
            "index": 0,
        },
    )

    client.refresh_from_db()
    assert client.name == "Untouchable" and client.status == Client.Status.ACTIVE
    assert client.check_client_secret(secret)
    assert ClientSecret.objects.filter(client=client).count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None
    assert Client.objects.count() == 1


@pytest.mark.parametrize(
    ("granted", "url_name", "allowed"),
    [
        ("server.rotate_client_secret", "rotate", True),
        ("server.revoke_tokens", "rotate", False),
        ("server.revoke_tokens", "bulk_revoke", True),
        ("server.rotate_client_secret", "bulk_revoke", False),
        ("server.manage_clients", "disable", True),
        ("server.rotate_client_secret", "disable", False),
    ],
)
def test_each_power_is_its_own_permission(django_user_model, make_client, granted, url_name, allowed):
    user = django_user_model.objects.create_user("pat", "pat@example.com", "pat-pw-123456", is_staff=True)
    app_label, codename = granted.split(".")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename),
        Permission.objects.get(content_type__app_label="server", codename="view_client"),
    )
    client, _ = make_client()
    url = {
        "rotate": reverse("admin:server_client_rotate_secret", args=[client.pk]),
        "bulk_revoke": reverse("admin:server_token_bulk_revoke"),
        "disable": reverse("admin:server_client_change_status", args=[client.pk, "disable"]),
    }[url_name]
    http = HttpClient()
    http.force_login(user)
    assert (http.get(url).status_code == 200) is allowed


def test_non_staff_and_anonymous_are_sent_to_the_login(client, end_user, make_client):
    made, _ = make_client()
    urls = [
        reverse("admin:server_client_changelist"),
        reverse("admin:server_client_rotate_secret", args=[made.pk]),
        reverse("admin:server_token_bulk_revoke"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(end_user)
    for url in urls:
        assert client.get(url).status_code == 302


def test_staff_without_permissions_sees_nothing(staff_without_permissions, make_client):
    made, _ = make_client()
    http = HttpClient()
    http.force_login(staff_without_permissions)
    assert http.get(reverse("admin:server_client_changelist")).status_code == 403
    assert http.get(reverse("admin:server_token_changelist")).status_code == 403
    assert http.get(reverse("admin:server_client_change", args=[made.pk])).status_code == 403


def test_csrf_is_enforced_on_console_writes(ops_user, make_client, make_token):
    client, secret = make_client()
    token, _ = make_token(client)
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(ops_user)
    assert (
        http.post(
            reverse("admin:server_client_rotate_secret", args=[client.pk]), {"grace": "immediately"}
        ).status_code
        == 403
    )
    assert (
        http.post(
            reverse("admin:server_token_bulk_revoke"),
            {"client_id": client.client_id, "reason": "x", "confirm": "yes"},
        ).status_code
        == 403
    )
    assert client.check_client_secret(secret)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_console_pages_refuse_framing(ops, make_client):
    client, _ = make_client()
    for url in (
        "/console/",
        reverse("admin:server_client_rotate_secret", args=[client.pk]),
        reverse("admin:server_token_bulk_revoke"),
        reverse("admin:server_client_add"),
    ):
        assert ops.get(url)["X-Frame-Options"] == "DENY", url
