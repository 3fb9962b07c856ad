"""Managing my apps: list, detail, edit, rotate the secret, delete."""

from datetime import timedelta

import pytest
from django.utils import timezone

from server import credentials, services
from server.actors import Actor
from server.models import Client, ClientSecret, Token

from .conftest import make_app

pytestmark = pytest.mark.django_db


def issue_token(client, user=None, **kwargs):
    token = {"access_token": f"oat_{timezone.now().timestamp()}-{Token.objects.count()}", "expires_in": 3600}
    return services.store_token(token, client=client, user=user, grant_type="client_credentials", **kwargs)


def test_list_shows_only_my_apps_with_usage(dev_client, app, others_app, django_assert_max_num_queries):
    client, _secret = app
    make_app(client.owner, "Second app")
    used = issue_token(client)
    Token.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    with django_assert_max_num_queries(6):
        response = dev_client.get("/developers/")
    assert response.status_code == 200
    apps = {c.name: c for c in response.context["clients"]}
    assert set(apps) == {"Dana's app", "Second app"}
    assert apps["Dana's app"].active_tokens == 1
    assert apps["Dana's app"].last_used is not None
    assert apps["Second app"].last_used is None
    assert b"Olga's app" not in response.content


def test_detail_shows_status_reason_secrets_and_tokens(dev_client, app, operator):
    client, _secret = app
    services.set_client_status(
        client, Client.Status.REJECTED, actor=Actor.operator(operator), reason="Logo missing"
    )
    issue_token(client)
    revoked = issue_token(client)
    Token.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())

    response = dev_client.get(f"/developers/apps/{client.client_id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert client.client_id in body
    assert "https://app.example.com/callback" in body
    assert 'data-status="rejected"' in body
    assert "Logo missing" in body
    assert ClientSecret.objects.get(client=client).prefix in body
    assert response.context["client"].active_tokens == 1


def test_pending_app_says_it_waits_for_approval(dev_client, app):
    client, _secret = app
    body = dev_client.get(f"/developers/apps/{client.client_id}/").content.decode()
    assert "Waiting for an operator" in body


def test_edit_changes_the_app(dev_client, app):
    client, _secret = app
    url = f"/developers/apps/{client.client_id}/edit/"
    form = dev_client.get(url).context["form"]
    assert form.initial["redirect_uris"] == "https://app.example.com/callback"
    assert "client_type" not in form.fields

    response = dev_client.post(
        url,
        {
            "name": "Renamed",
            "description": "",
            "client_uri": "",
            "logo_uri": "",
            "redirect_uris": "https://app.example.com/new",
            "grant_types": ["authorization_code"],
            "scope": ["profile"],
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/developers/apps/{client.client_id}/"
    client.refresh_from_db()
    assert client.name == "Renamed"
    assert client.redirect_uri_list == ["https://app.example.com/new"]
    assert client.grant_type_list == ["authorization_code"]
    assert client.scope_list == ["profile"]


def test_edit_refuses_bad_input(dev_client, app):
    client, _secret = app
    response = dev_client.post(
        f"/developers/apps/{client.client_id}/edit/",
        {"name": "X", "redirect_uris": "http://evil.example.com/", "grant_types": ["authorization_code"]},
    )
    assert response.status_code == 200
    assert "redirect_uris" in response.context["form"].errors
    client.refresh_from_db()
    assert client.name == "Dana's app"


@pytest.mark.parametrize("grace, hours", [("immediately", 0), ("1h", 1), ("24h", 24), ("7d", 168)])
def test_rotate_secret_with_a_grace_period(dev_client, app, grace, hours, time_machine):
    client, old_secret = app
    time_machine.move_to(timezone.now(), tick=False)
    rotated_at = timezone.now()
    response = dev_client.post(
        f"/developers/apps/{client.client_id}/rotate-secret/", {"grace": grace}, follow=True
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    new_secret = response.context["secret"]
    assert new_secret != old_secret
    assert new_secret in response.content.decode()
    assert client.check_client_secret(new_secret)
    old = ClientSecret.objects.get(digest=credentials.digest(old_secret))
    assert old.expires_at == rotated_at + timedelta(hours=hours)
    assert client.check_client_secret(old_secret) == (hours > 0)
    time_machine.shift(timedelta(hours=hours, seconds=1))
    assert not client.check_client_secret(old_secret)
    assert client.check_client_secret(new_secret)


def test_rotate_refuses_an_unknown_grace_period(dev_client, app):
    client, _secret = app
    response = dev_client.post(f"/developers/apps/{client.client_id}/rotate-secret/", {"grace": "forever"})
    assert response.status_code == 200
    assert "grace" in response.context["form"].errors
    assert ClientSecret.objects.filter(client=client).count() == 1


def test_a_public_app_has_no_secret_to_rotate(dev_client, developer):
    client, _ = make_app(developer, "SPA", client_type=Client.Type.PUBLIC, grant_types=["authorization_code"])
    url = f"/developers/apps/{client.client_id}/rotate-secret/"
    assert b"no secret to rotate" in dev_client.get(url).content
    assert dev_client.post(url, {"grace": "1h"}).status_code == 400
    assert not ClientSecret.objects.exists()


def test_delete_asks_first_then_deletes_and_its_tokens_stop(dev_client, app):
    client, _secret = app
    token = issue_token(client)
    url = f"/developers/apps/{client.client_id}/delete/"

    confirm = dev_client.get(url)
    assert confirm.status_code == 200
    assert b"1 active token" in confirm.content
    assert Client.objects.filter(pk=client.pk).exists()

    response = dev_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == "/developers/"
    assert not Client.objects.filter(pk=client.pk).exists()
    assert not Token.objects.filter(pk=token.pk).exists()


EDIT_FORM = {
    "name": "Dana's app",
    "redirect_uris": "https://app.example.com/callback\nhttps://app.example.com/second",
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    "scope": ["profile", "read", "write"],
}


def test_an_approved_app_cannot_widen_its_scopes_or_grants_on_its_own(dev_client, app, operator):
    client, _secret = app
    services.set_client_status(client, Client.Status.ACTIVE, actor=Actor.operator(operator))
    response = dev_client.post(f"/developers/apps/{client.client_id}/edit/", EDIT_FORM)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "write needs an operator's approval" in errors["scope"][0]
    assert "client_credentials needs an operator's approval" in errors["grant_types"][0]
    client.refresh_from_db()
    assert client.scope_list == ["profile", "read"]
    assert len(client.redirect_uri_list) == 1


def test_a_pending_app_may_change_freely(dev_client, app):
    client, _secret = app
    response = dev_client.post(f"/developers/apps/{client.client_id}/edit/", EDIT_FORM)
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.scope_list == ["profile", "read", "write"]
    assert len(client.redirect_uri_list) == 2


def test_detail_shows_the_apps_own_pages_as_safe_links(dev_client, app):
    # The edit form took policy_uri and tos_uri, but the app page showed only the homepage.
    client, _secret = app
    Client.objects.filter(pk=client.pk).update(
        client_uri="https://dana.example.com/",
        policy_uri="https://dana.example.com/privacy?a=1&b=2",
        tos_uri="javascript:alert(1)",  # stored before a rule tightened: text, never an href
    )
    body = dev_client.get(f"/developers/apps/{client.client_id}/").content.decode()
    assert "Privacy policy" in body and "Terms of service" in body
    assert 'href="https://dana.example.com/privacy?a=1&amp;b=2"' in body
    assert 'href="javascript:' not in body
    assert "javascript:alert(1) <span" in body
