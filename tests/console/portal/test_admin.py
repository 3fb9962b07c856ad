"""The initial access token admin: create shows the token once; the list shows prefix and usage."""

from datetime import timedelta

import pytest
from django.utils import timezone

from server import credentials
from server.models import InitialAccessToken

pytestmark = pytest.mark.django_db

ADD = "/admin/server/initialaccesstoken/add/"
LIST = "/admin/server/initialaccesstoken/"


@pytest.fixture
def admin_client(client, operator):
    client.force_login(operator)
    return client


def test_create_shows_the_token_once(admin_client, operator):
    expires = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    response = admin_client.post(
        ADD,
        {
            "description": "Partner onboarding",
            "expires_at_0": expires.strftime("%Y-%m-%d"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
            "max_registrations": "3",
            "allowed_scope": ["profile", "read"],
            "allowed_grant_types": ["authorization_code", "refresh_token"],
        },
        follow=True,  # POST -> redirect -> the page that shows the token once
    )

    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    plain = response.context["plain"]
    assert plain.startswith("oia_")
    assert plain in response.content.decode()
    row = InitialAccessToken.objects.get()
    assert row.digest == credentials.digest(plain)
    assert row.created_by == operator
    assert row.max_registrations == 3
    assert row.allowed_scope == "profile read"
    assert row.expires_at == expires

    listing = admin_client.get(LIST).content.decode()
    assert f"{row.prefix}…" in listing
    assert "0 / 3" in listing
    assert plain not in listing
    assert plain not in admin_client.get(f"{LIST}{row.pk}/change/").content.decode()


def test_bad_input_is_a_form_error(admin_client):
    response = admin_client.post(
        ADD, {"max_registrations": "0", "allowed_scope": ["root"], "allowed_grant_types": ["password"]}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"max_registrations", "allowed_scope", "allowed_grant_types"} <= set(errors)
    assert not InitialAccessToken.objects.exists()


def test_revoke_action(admin_client):
    admin_client.post(
        ADD,
        {
            "max_registrations": "1",
            "allowed_scope": ["profile"],
            "allowed_grant_types": ["authorization_code"],
        },
    )
    row = InitialAccessToken.objects.get()
    asked = admin_client.post(LIST, {"action": "revoke", "_selected_action": [row.pk]})
    assert asked.status_code == 200  # a confirmation first (oauth_console/admin_confirm.py)
    response = admin_client.post(LIST, {"action": "revoke", "_selected_action": [row.pk], "confirm": "yes"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert not row.is_usable


def test_tokens_cannot_be_deleted_or_edited(admin_client):
    admin_client.post(
        ADD,
        {
            "max_registrations": "1",
            "allowed_scope": ["profile"],
            "allowed_grant_types": ["authorization_code"],
        },
    )
    row = InitialAccessToken.objects.get()
    assert admin_client.post(f"{LIST}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"{LIST}{row.pk}/change/", {"max_registrations": "99"})
    row.refresh_from_db()
    assert row.max_registrations == 1
    assert InitialAccessToken.objects.count() == 1
