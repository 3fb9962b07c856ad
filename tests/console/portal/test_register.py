"""Registering an app in the portal: the form, its errors, the secret shown once."""

import pytest

from server.models import Client, ClientSecret

pytestmark = pytest.mark.django_db

NEW = "/developers/apps/new/"
VALID = {
    "name": "Weather widget",
    "description": "Shows the weather.",
    "client_uri": "https://weather.example.com",
    "logo_uri": "https://weather.example.com/logo.png",
    "redirect_uris": "https://weather.example.com/callback\r\nhttp://127.0.0.1:8000/cb\r\n",
    "client_type": "confidential",
    "grant_types": ["authorization_code", "refresh_token"],
    "scope": ["profile", "read"],
}


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(NEW)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/developers/apps/new/"


def test_the_welcome_page_links_to_sign_in(client):
    response = client.get("/developers/")
    assert response.status_code == 200
    assert b'href="/accounts/login/?next=/developers/"' in response.content


def test_the_form_offers_what_the_server_allows(dev_client, settings):
    settings.OAUTH2_SCOPES = {"profile": "Your profile", "calendar": "Your calendar"}
    response = dev_client.get(NEW)
    assert response.status_code == 200
    form = response.context["form"]
    assert [value for value, _label in form.fields["scope"].choices] == ["profile", "calendar"]
    assert [value for value, _label in form.fields["grant_types"].choices] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    body = response.content.decode()
    for field in ("name", "description", "client_uri", "logo_uri", "redirect_uris"):
        assert f'for="id_{field}"' in body  # every field has a label


def test_register_a_confidential_app(dev_client, developer):
    response = dev_client.post(NEW, VALID, follow=True)  # POST -> 302 -> shown-once page

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    client = Client.objects.get()
    assert client.owner == developer
    assert client.source == Client.Source.PORTAL
    assert client.status == Client.Status.PENDING
    assert client.name == "Weather widget"
    assert client.redirect_uri_list == ["https://weather.example.com/callback", "http://127.0.0.1:8000/cb"]
    assert client.scope_list == ["profile", "read"]
    assert client.client_uri == "https://weather.example.com"
    secret = response.context["secret"]
    assert secret.startswith("ocs_")
    assert secret in response.content.decode()
    assert client.check_client_secret(secret)
    # Shown once: not in the session, not on the detail page.
    assert secret not in str(dict(dev_client.session))
    detail = dev_client.get(f"/developers/apps/{client.client_id}/")
    assert secret not in detail.content.decode()
    assert ClientSecret.objects.get().prefix in detail.content.decode()


def test_auto_approve_setting_makes_apps_active(dev_client, settings):
    settings.PORTAL_AUTO_APPROVE = True
    dev_client.post(NEW, VALID)
    assert Client.objects.get().status == Client.Status.ACTIVE


def test_a_public_app_gets_no_secret(dev_client):
    response = dev_client.post(NEW, {**VALID, "client_type": "public"}, follow=True)
    assert response.status_code == 200
    client = Client.objects.get()
    assert client.is_public
    assert client.token_endpoint_auth_method == "none"
    assert response.context["secret"] is None
    assert not ClientSecret.objects.exists()


@pytest.mark.parametrize(
    "changes, field, text",
    [
        ({"redirect_uris": "http://example.com/cb"}, "redirect_uris", "only allowed for loopback"),
        ({"redirect_uris": "https://example.com/cb#x"}, "redirect_uris", "fragment"),
        ({"redirect_uris": "https://*.example.com/cb"}, "redirect_uris", "wildcards"),
        ({"redirect_uris": ""}, "redirect_uris", "needs at least one redirect URI"),
        ({"name": ""}, "name", "required"),
        ({"name": "x" * 101}, "name", "at most 100"),
        ({"client_type": "secret-agent"}, "client_type", "valid choice"),
        ({"grant_types": []}, "grant_types", "required"),
        ({"grant_types": ["password"]}, "grant_types", "valid choice"),
        ({"scope": ["admin"]}, "scope", "valid choice"),
        (
            {"client_type": "public", "grant_types": ["client_credentials"]},
            "grant_types",
            "cannot use client_credentials",
        ),
        ({"client_uri": "http://weather.example.com"}, "client_uri", "https://"),
        # The policy's words (Django's URLValidator no longer answers first: "Enter a valid URL.").
        ({"logo_uri": "javascript:alert(1)"}, "logo_uri", "Use an https:// address."),
        ({"logo_uri": "https://cdn_1.example.com/l.png"}, "logo_uri", "a host is a name of letters"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_writes_nothing(dev_client, changes, field, text):
    response = dev_client.post(NEW, {**VALID, **changes})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert text in " ".join(errors[field])
    assert not Client.objects.exists()


def test_every_bad_redirect_uri_is_reported(dev_client):
    response = dev_client.post(
        NEW, {**VALID, "redirect_uris": "http://a.example.com/\nhttps://b.example.com/#f"}
    )
    assert len(response.context["form"].errors["redirect_uris"]) == 2


def test_the_privacy_policy_and_terms_are_stored_and_refused_like_the_homepage(dev_client):
    pages = {
        "policy_uri": "https://weather.example.com/privacy",
        "tos_uri": "https://weather.example.com/terms",
    }
    refused = dev_client.post(NEW, {**VALID, **pages, "tos_uri": "http://weather.example.com/terms"})
    assert refused.status_code in (200, 400)
    assert "https://" in " ".join(refused.context["form"].errors["tos_uri"])
    assert not Client.objects.exists()
    response = dev_client.post(NEW, {**VALID, **pages})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    client = Client.objects.get()
    assert (client.policy_uri, client.tos_uri) == (pages["policy_uri"], pages["tos_uri"])
