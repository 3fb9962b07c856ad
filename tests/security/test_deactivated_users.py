"""A deactivated or deleted user keeps no OAuth access (issue 11, item 5).

Two ways a user loses `is_active`: a save (the admin, a form, `user.save()`), which revokes their
tokens and voids their unredeemed codes through `services.revoke_user_access` and records it in
the audit log; and a bulk UPDATE that sends no signal (a directory sync, SQL), which the protocol
checks themselves must catch: the bearer check, introspection and the refresh and code grants
refuse an inactive user's tokens whether or not they were revoked.

Transactional: the service's signal and the audit write run after commit, as in production.
"""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from oauth_console.audit.models import AuditEvent
from server.models import AuthorizationCode, Token
from tests.server.helpers import basic_auth, exchange_code, form, get_code

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(make_client):
    return make_client("Deactivation app")


@pytest.fixture
def browser(client, end_user):
    client.force_login(end_user)
    return client


def issue_for_user(browser, app) -> dict:
    client, secret = app
    code, verifier = get_code(browser, client.client_id, scope="profile email")
    response = exchange_code(browser, client.client_id, secret, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


def me(token: str):
    return HttpClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def refresh(app, refresh_token: str):
    client, secret = app
    return form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )


def introspect(app, token: str) -> dict:
    client, secret = app
    response = form(
        HttpClient(),
        "/oauth/introspect",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200
    return response.json()


def deactivate_without_signals(user) -> None:
    """What a directory sync or an operator's SQL does: no save(), so no receiver runs."""
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)


# --- the protocol checks, for a user deactivated behind the server's back -------------------------


def test_bearer_check_refuses_an_inactive_users_token(browser, app, end_user):
    tokens = issue_for_user(browser, app)
    assert me(tokens["access_token"]).status_code == 200
    deactivate_without_signals(end_user)
    response = me(tokens["access_token"])
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_refresh_grant_refuses_an_inactive_user(browser, app, end_user):
    tokens = issue_for_user(browser, app)
    deactivate_without_signals(end_user)
    response = refresh(app, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    # Nothing was minted, and the refresh token was not rotated (nothing written).
    assert Token.objects.count() == 1
    assert Token.objects.get().rotated_at is None


def test_introspection_says_inactive_for_an_inactive_users_tokens(browser, app, end_user):
    tokens = issue_for_user(browser, app)
    assert introspect(app, tokens["access_token"])["active"] is True
    deactivate_without_signals(end_user)
    assert introspect(app, tokens["access_token"]) == {"active": False}
    assert introspect(app, tokens["refresh_token"]) == {"active": False}


def test_code_grant_refuses_a_code_of_an_inactive_user(browser, app, end_user):
    client, secret = app
    code, verifier = get_code(browser, client.client_id)
    deactivate_without_signals(end_user)
    response = exchange_code(HttpClient(), client.client_id, secret, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 0


def test_reactivated_user_without_revocation_works_again_and_client_tokens_are_unaffected(
    browser, app, end_user
):
    tokens = issue_for_user(browser, app)
    client, secret = app
    machine = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    ).json()["access_token"]
    deactivate_without_signals(end_user)
    # A token without a user (client credentials) does not depend on any user.
    assert introspect(app, machine)["active"] is True
    get_user_model().objects.filter(pk=end_user.pk).update(is_active=True)
    assert me(tokens["access_token"]).status_code == 200


# --- deactivation and deletion revoke, through the service, audited -------------------------------


def test_deactivating_a_user_revokes_their_tokens_voids_their_codes_and_is_audited(browser, app, end_user):
    tokens = issue_for_user(browser, app)
    client, secret = app
    pending_code, verifier = get_code(browser, client.client_id)
    assert AuthorizationCode.objects.filter(user=end_user, used_at__isnull=True).count() == 1

    end_user.is_active = False
    end_user.save()

    row = Token.objects.get()
    assert row.revoked_at is not None
    assert row.revoked_reason == "user deactivated"
    assert row.revoked_by == "system:user-deactivated"
    assert not AuthorizationCode.objects.filter(user=end_user, used_at__isnull=True).exists()
    assert me(tokens["access_token"]).status_code == 401
    assert refresh(app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert exchange_code(HttpClient(), client.client_id, secret, pending_code, verifier).status_code == 400

    event = AuditEvent.objects.get(event_type="user_access_revoked")
    assert event.user_id == end_user.pk
    assert event.username == "alice"
    assert event.actor_label == "system:user-deactivated"
    assert event.detail == {"reason": "user deactivated", "tokens_revoked": 1, "codes_voided": 1}

    # Reactivating does not bring the revoked tokens back.
    end_user.is_active = True
    end_user.save()
    assert me(tokens["access_token"]).status_code == 401
    # Saving an inactive (or active) user again records nothing new.
    end_user.save()
    assert AuditEvent.objects.filter(event_type="user_access_revoked").count() == 1


def test_saving_a_user_without_touching_is_active_does_no_revocation(browser, app, end_user):
    issue_for_user(browser, app)
    end_user.email = "alice@new.example.com"
    end_user.save()
    end_user.save(update_fields=["last_login"])
    assert Token.objects.get().revoked_at is None
    assert not AuditEvent.objects.filter(event_type="user_access_revoked").exists()


def test_deleting_a_user_is_audited_with_the_tokens_it_ended(browser, app, end_user):
    issue_for_user(browser, app)
    issue_for_user(browser, app)
    user_id = end_user.pk
    end_user.delete()
    assert not Token.objects.exists()
    event = AuditEvent.objects.get(event_type="user_access_revoked")
    assert (event.user_id, event.username) == (user_id, "alice")
    assert event.detail == {"reason": "user deleted", "tokens_revoked": 2, "codes_voided": 0}


def test_operator_deactivating_a_user_in_the_admin_revokes_and_names_the_operator(
    browser, app, end_user, operator
):
    tokens = issue_for_user(browser, app)
    admin = HttpClient()
    admin.force_login(operator)
    url = f"/admin/auth/user/{end_user.pk}/change/"
    page = admin.get(url)
    assert page.status_code == 200
    end_user.refresh_from_db()
    data = {
        "username": end_user.username,
        "email": end_user.email,
        "first_name": "",
        "last_name": "",
        "date_joined_0": end_user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": end_user.date_joined.strftime("%H:%M:%S"),
        # is_active left out: the box is unticked.
    }
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    end_user.refresh_from_db()
    assert end_user.is_active is False
    assert me(tokens["access_token"]).status_code == 401
    row = Token.objects.get()
    assert row.revoked_by == "operator:root"
    event = AuditEvent.objects.get(event_type="user_access_revoked")
    assert (event.actor_kind, event.actor_label, event.user_id) == ("operator", "operator:root", end_user.pk)
