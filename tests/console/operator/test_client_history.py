"""The admin's History page of a client lists its audit events (issue 11, item 19).

Before: a client created, rotated, disabled and enabled in the admin said "This object doesn't
have a change history", because the console writes through services, not ModelAdmin.save.
"""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as HttpClient
from django.urls import reverse

from server.models import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def root(operator) -> HttpClient:
    """A superuser (transactional tests flush the groups the data migrations make)."""
    http = HttpClient()
    http.force_login(operator)
    return http


@pytest.fixture
def viewer(django_user_model) -> HttpClient:
    """Staff who may view clients but not the audit log."""
    user = django_user_model.objects.create_user("vera", "vera@example.com", "vera-pw-123456", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_client", content_type__app_label="server")
    )
    http = HttpClient()
    http.force_login(user)
    return http


def lifecycle(ops) -> Client:
    ops.post(
        reverse("admin:server_client_add"),
        {
            "name": "Payroll",
            "client_type": "confidential",
            "redirect_uris": "https://payroll.example.com/cb",
            "grant_types": ["authorization_code", "client_credentials"],
            "scope": ["profile"],
            "token_endpoint_auth_method": "",
        },
    )
    client = Client.objects.get(name="Payroll")
    ops.post(reverse("admin:server_client_rotate_secret", args=[client.pk]), {"grace": "1h"})
    status = "admin:server_client_change_status"
    ops.post(reverse(status, args=[client.pk, "disable"]), {"reason": "leaked secret"})
    ops.post(reverse(status, args=[client.pk, "enable"]), {"reason": ""})
    return client


def test_history_lists_the_clients_audit_events_newest_first(root, viewer):
    client = lifecycle(root)
    response = viewer.get(reverse("admin:server_client_history", args=[client.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "have a change history" not in body
    order = [body.index(label) for label in ("Client enabled", "Client disabled", "Client secret rotated")]
    assert order == sorted(order)
    assert body.index("Client secret rotated") < body.index("Client created</")
    assert "leaked secret" in body
    assert "operator:root" in body
    # No audit permission: no link into the audit log they could not open.
    assert "/admin/audit/auditevent/" not in body


def test_history_shows_changes_as_old_and_new_values(root):
    client = lifecycle(root)
    from server import services
    from server.actors import Actor

    services.update_client(client, actor=Actor.system("tests"), name="Payroll v2")
    body = root.get(reverse("admin:server_client_history", args=[client.pk])).content.decode()
    assert "name: Payroll → Payroll v2" in body
    assert "[" not in body.split('id="change-history"')[1].split("</table>")[0]  # no Python lists


def test_history_links_to_the_filtered_audit_log_for_those_who_may_read_it(root):
    client = lifecycle(root)
    body = root.get(reverse("admin:server_client_history", args=[client.pk])).content.decode()
    assert f"/admin/audit/auditevent/?client_id={client.client_id}" in body


def test_history_of_a_client_made_elsewhere_shows_its_creation(viewer, make_client):
    client, _secret = make_client("Made by a command")
    body = viewer.get(reverse("admin:server_client_history", args=[client.pk])).content.decode()
    assert "Client created" in body
    assert "system:tests" in body
