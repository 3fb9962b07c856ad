"""The December attack review of the new surface (docs/security.md): each test here reproduces a
hole an attacker found in what landed after the first review (resource indicators, OpenID Connect
logout, the outbound guard) and fails if it opens again."""

import pytest
from django.test import Client as HttpClient

from server import services
from server.models import Token
from tests.server.resource_helpers import DEFAULT, OPERATOR, token_request

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example.com/"


# --- 1. An API's scope carried to this server's own API (RFC 8707) ----------------------------


@pytest.fixture
def machine(make_client):
    """A machine client that may ask for `read` only, and an API any client may name that
    defines scopes whose names mean something at this server's own API and operator API."""
    client, secret = make_client(grant_types=["client_credentials"], redirect_uris=[], scope=["read"])
    api = services.create_api(actor=OPERATOR, identifier=SHOP, name="Shop", allow_any_client=True)
    # As stored before the API policy refused such names (or before OAUTH2_SCOPES grew one).
    api.scopes = {"console:clients:read": "Read the shop's clients", "email": "Your shop e-mail"}
    api.save(update_fields=["scopes"])
    return client, secret


@pytest.mark.parametrize("scope", ["console:clients:read", "email"])
def test_an_api_scope_never_reaches_this_servers_api_through_a_second_resource(machine, scope):
    client, secret = machine
    http = HttpClient()
    answer = token_request(
        http, client.client_id, secret, {"grant_type": "client_credentials", "scope": scope}, [SHOP, DEFAULT]
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope", answer.content
    assert not Token.objects.exists()


def test_an_api_scope_in_this_servers_vocabulary_is_refused_by_the_api_policy():
    from server.policy_rules import PolicyError

    for name in ("console:clients:read", "email"):
        with pytest.raises(PolicyError) as refused:
            services.create_api(actor=OPERATOR, identifier=SHOP, name="Shop", scopes={name: "x"})
        assert refused.value.field == "scopes"
