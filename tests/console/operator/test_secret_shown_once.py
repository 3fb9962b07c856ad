"""A new secret is shown by a GET after a redirect, once: reloading never repeats the action.

POST (create or rotate) -> 302 -> GET shows the secret -> GET again says it was already shown.
The secret is never in a URL, and the session keeps it only until that first GET.
"""

import pytest
from django.urls import reverse

from server import credentials, services
from server.actors import Actor
from server.models import Client, ClientSecret

pytestmark = pytest.mark.django_db


def create_form(**overrides) -> dict:
    data = {
        "name": "Billing app",
        "client_type": "confidential",
        "owner": "",
        "description": "",
        "redirect_uris": "https://billing.example.com/callback",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": ["profile"],
        "token_endpoint_auth_method": "",
        "client_uri": "",
        "logo_uri": "",
        "contacts": "",
    }
    data.update(overrides)
    return data


def _shown_once(http, response) -> str:
    """Follow the redirect of a POST; return the secret the first GET shows; check the second."""
    assert response.status_code == 302
    location = response["Location"]
    assert "ocs_" not in location
    first = http.get(location)
    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    secret = first.context["secret"]
    assert secret and secret in first.content.decode()
    again = http.get(location)
    assert again.status_code == 200
    assert secret not in again.content.decode()
    assert "already shown" in again.content.decode()
    assert secret not in str(dict(http.session))
    return secret


def test_operator_create_redirects_and_shows_the_secret_once(ops):
    response = ops.post(reverse("admin:server_client_add"), create_form())
    secret = _shown_once(ops, response)
    client = Client.objects.get(name="Billing app")
    assert client.check_client_secret(secret)
    assert Client.objects.count() == 1


def test_operator_create_public_client_redirects_without_a_secret(ops):
    response = ops.post(
        reverse("admin:server_client_add"),
        create_form(name="Phone app", client_type="public"),
    )
    assert response.status_code == 302
    page = ops.get(response["Location"])
    assert page.status_code == 200
    assert page.context["secret"] is None
    assert "public client has no secret" in page.content.decode()


def test_operator_rotate_redirects_and_shows_the_new_secret_once(ops):
    client, old = services.create_client(
        name="Rotator", grant_types=["client_credentials"], scope=["profile"], actor=Actor.system("tests")
    )
    url = reverse("admin:server_client_rotate_secret", args=[client.pk])
    response = ops.post(url, {"grace": "1h"})
    secret = _shown_once(ops, response)
    assert client.check_client_secret(secret) and client.check_client_secret(old)
    assert ClientSecret.objects.filter(client=client).count() == 2


def test_the_show_page_of_someone_elses_session_shows_nothing(ops, ops_user, client):
    created = ops.post(reverse("admin:server_client_add"), create_form())
    client.force_login(ops_user)  # same user, another browser: another session
    other = client.get(created["Location"])
    assert other.status_code == 200
    assert other.context["secret"] is None
    assert "already shown" in other.content.decode()
    assert credentials.PREFIXES["client_secret"] not in other.content.decode()


def test_the_show_page_needs_the_manage_or_rotate_permission(ops, readonly):
    created = ops.post(reverse("admin:server_client_add"), create_form())
    assert readonly.get(created["Location"]).status_code == 403


def test_imported_clients_secrets_are_shown_once_after_a_redirect(ops):
    from tests.console.operator.test_import_export import GOOD_ROWS, confirm, csv_file, preview

    checked = preview(ops, csv_file(GOOD_ROWS))
    done = confirm(ops, checked)
    assert done.status_code == 302
    first = ops.get(done["Location"])
    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    secrets = first.context["secrets"]
    assert len(secrets) == 2
    for client_id, _name, secret in secrets:
        assert secret in first.content.decode()
        assert Client.objects.get(client_id=client_id).check_client_secret(secret)
    again = ops.get(done["Location"])
    assert "already shown" in again.content.decode()
    assert all(secret not in again.content.decode() for _c, _n, secret in secrets)
    assert Client.objects.count() == 3


def test_confirming_the_same_import_twice_is_a_message_not_an_error(ops):
    from tests.console.operator.test_import_export import GOOD_ROWS, confirm, csv_file, preview

    checked = preview(ops, csv_file(GOOD_ROWS))
    assert confirm(ops, checked).status_code == 302
    again = confirm(ops, checked)
    assert again.status_code == 302
    assert Client.objects.count() == 3
    followed = ops.get(again["Location"])
    assert "already" in followed.content.decode()
