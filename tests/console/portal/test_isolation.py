"""A developer sees and changes only their own apps: anyone else's id is a 404, never a 403."""

import pytest

from server.models import Client, ClientSecret

pytestmark = pytest.mark.django_db

VIEWS = [
    ("get", "/developers/apps/{}/", None),
    ("get", "/developers/apps/{}/edit/", None),
    (
        "post",
        "/developers/apps/{}/edit/",
        {
            "name": "Hijacked",
            "redirect_uris": "https://evil.example.com/cb",
            "grant_types": ["authorization_code"],
        },
    ),
    ("get", "/developers/apps/{}/rotate-secret/", None),
    ("post", "/developers/apps/{}/rotate-secret/", {"grace": "immediately"}),
    ("get", "/developers/apps/{}/delete/", None),
    ("post", "/developers/apps/{}/delete/", {}),
]


@pytest.mark.parametrize("method, url, data", VIEWS)
def test_another_developers_app_is_404_and_untouched(dev_client, others_app, method, url, data):
    client, _secret = others_app
    response = getattr(dev_client, method)(url.format(client.client_id), data)
    assert response.status_code == 404
    client.refresh_from_db()
    assert client.name == "Olga's app"
    assert client.redirect_uri_list == ["https://app.example.com/callback"]
    assert ClientSecret.objects.filter(client=client, expires_at__isnull=True).count() == 1


@pytest.mark.parametrize("method, url, data", VIEWS)
def test_an_unknown_id_is_404_too(dev_client, method, url, data):
    assert getattr(dev_client, method)(url.format("no-such-client"), data).status_code == 404


@pytest.mark.parametrize("method, url, data", VIEWS)
def test_an_operator_made_app_without_owner_is_404(dev_client, make_client, method, url, data):
    client, _secret = make_client("Operator's app")
    assert getattr(dev_client, method)(url.format(client.client_id), data).status_code == 404
    assert Client.objects.filter(pk=client.pk).exists()
