"""The portal shows a new secret by a GET after a redirect, once: reloading repeats nothing."""

import pytest

from server.models import Client, ClientSecret

pytestmark = pytest.mark.django_db

NEW = "/developers/apps/new/"
VALID = {
    "name": "Weather widget",
    "description": "",
    "client_uri": "",
    "logo_uri": "",
    "redirect_uris": "https://weather.example.com/callback",
    "client_type": "confidential",
    "grant_types": ["authorization_code", "refresh_token"],
    "scope": ["profile"],
}


def _shown_once(http, response) -> str:
    assert response.status_code == 302
    location = response["Location"]
    assert "ocs_" not in location
    first = http.get(location)
    assert first.status_code == 200
    assert first["Cache-Control"] == "no-store"
    secret = first.context["secret"]
    assert secret and secret in first.content.decode()
    assert 'data-copy-target="client-secret"' in first.content.decode()
    again = http.get(location)
    assert secret not in again.content.decode()
    assert "already shown" in again.content.decode()
    assert secret not in str(dict(http.session))
    return secret


def test_register_redirects_and_shows_the_secret_once(dev_client):
    secret = _shown_once(dev_client, dev_client.post(NEW, VALID))
    assert Client.objects.count() == 1
    assert Client.objects.get().check_client_secret(secret)


def test_rotate_redirects_and_shows_the_new_secret_once(dev_client, app):
    client, old = app
    url = f"/developers/apps/{client.client_id}/rotate-secret/"
    secret = _shown_once(dev_client, dev_client.post(url, {"grace": "1h"}))
    assert ClientSecret.objects.filter(client=client).count() == 2
    assert client.check_client_secret(secret) and client.check_client_secret(old)


def test_the_show_page_of_another_developers_app_is_not_found(dev_client, others_app):
    client, _secret = others_app
    assert dev_client.get(f"/developers/apps/{client.client_id}/secret/").status_code == 404


def test_an_initial_access_token_is_shown_once_after_a_redirect(client, operator):
    from server.models import InitialAccessToken

    client.force_login(operator)
    response = client.post(
        "/admin/server/initialaccesstoken/add/",
        {
            "description": "Partner onboarding",
            "max_registrations": "3",
            "allowed_scope": ["profile"],
            "allowed_grant_types": ["authorization_code"],
        },
    )
    assert response.status_code == 302
    assert "oia_" not in response["Location"]
    first = client.get(response["Location"])
    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    plain = first.context["plain"]
    assert plain.startswith("oia_") and plain in first.content.decode()
    assert 'data-copy-target="initial-access-token"' in first.content.decode()
    again = client.get(response["Location"])
    assert plain not in again.content.decode()
    assert "already shown" in again.content.decode()
    assert InitialAccessToken.objects.count() == 1
