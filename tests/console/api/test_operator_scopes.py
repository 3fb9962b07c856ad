"""The operator scopes (console:*) are granted by operators only, to machine clients only: never
offered on the consent page, never a default, never through the portal or registration."""

import json

import pytest
from django.core.checks import run_checks
from django.test import Client as HttpClient

from server import policies, services
from server.actors import Actor
from server.models import Client
from tests.server.helpers import REDIRECT_URI, authorize_url, pkce_pair

from .conftest import api_with, assert_problem

pytestmark = pytest.mark.django_db


def test_only_a_door_that_may_grants_them():
    with pytest.raises(policies.PolicyError) as refused:
        services.create_client(
            name="Sneaky",
            actor=Actor.system("t"),
            grant_types=["client_credentials"],
            scope=["console:audit:read"],
        )
    assert refused.value.field == "scope"


@pytest.mark.parametrize(
    ("grant_types", "redirect_uris"),
    [
        (["authorization_code"], [REDIRECT_URI]),
        (["client_credentials", "refresh_token"], []),
        (["client_credentials"], [REDIRECT_URI]),
    ],
)
def test_only_a_machine_client_may_hold_them(grant_types, redirect_uris):
    with pytest.raises(policies.PolicyError, match="machine client"):
        services.create_client(
            name="Mixed",
            actor=Actor.system("t"),
            grant_types=grant_types,
            redirect_uris=redirect_uris,
            scope=["console:clients:read"],
            operator_scopes_allowed=["console:clients:read"],
        )


def test_an_api_caller_grants_only_the_operator_scopes_it_holds():
    api = api_with(["console:clients:write"])
    body = {"name": "Bot", "grant_types": ["client_credentials"]}
    ok = api.post("/api/v1/clients", {**body, "scope": ["console:clients:write"]})
    assert ok.status_code == 201, ok.content
    refused = assert_problem(
        api.post("/api/v1/clients", {**body, "scope": ["console:keys:write"]}), 400, "policy"
    )
    assert "scope" in refused["errors"]
    # Nor by changing a client it made.
    client_id = ok.json()["client_id"]
    assert_problem(api.patch(f"/api/v1/clients/{client_id}", {"scope": ["console:keys:write"]}), 400)
    # What a client holds already stays through other edits.
    assert api.patch(f"/api/v1/clients/{client_id}", {"name": "Bot 2"}).status_code == 200


def test_the_consent_page_and_metadata_never_offer_them(client, end_user):
    metadata = HttpClient().get("/.well-known/oauth-authorization-server").json()
    assert not any(s.startswith("console:") for s in metadata["scopes_supported"])
    bot, _ = services.create_client(
        name="Bot",
        actor=Actor.system("t"),
        grant_types=["client_credentials"],
        scope=["console:clients:read"],
        operator_scopes_allowed=["console:clients:read"],
    )
    # A stored row that slipped past the policy (redirect URI added by hand) still never gets a
    # consent page: a client without the code grant cannot use the authorization endpoint.
    Client.objects.filter(pk=bot.pk).update(redirect_uris=REDIRECT_URI)
    client.force_login(end_user)
    _verifier, challenge = pkce_pair()
    response = client.get(authorize_url(bot.client_id, challenge, scope="console:clients:read"))
    assert b"console:clients:read" not in response.content
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert "error=unauthorized_client" in response["Location"]


def test_registration_cannot_ask_for_them():
    _row, iat = services.create_initial_access_token(
        actor=Actor.system("t"), allowed_scope=["profile"], allowed_grant_types=["client_credentials"]
    )
    response = HttpClient().post(
        "/oauth/register",
        json.dumps(
            {"client_name": "x", "grant_types": ["client_credentials"], "scope": "console:audit:read"}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {iat}",
    )
    assert response.status_code == 400
    with pytest.raises(policies.PolicyError):
        services.create_initial_access_token(actor=Actor.system("t"), allowed_scope=["console:audit:read"])


def test_a_scope_in_both_lists_is_a_configuration_error(settings):
    settings.OAUTH2_SCOPES = {"profile": "p", "console:audit:read": "oops"}
    assert "server.E010" in [m.id for m in run_checks()]
    settings.OAUTH2_SCOPES = {"profile": "p"}
    assert "server.E010" not in [m.id for m in run_checks()]


def test_the_operator_form_in_the_admin_may_grant_them(operator):
    browser = HttpClient()
    browser.force_login(operator)
    response = browser.post(
        "/admin/server/client/add/",
        {
            "name": "Admin bot",
            "client_type": "confidential",
            "grant_types": ["client_credentials"],
            "scope": ["console:audit:read"],
            "redirect_uris": "",
            "contacts": "",
            "owner": "",
            "token_endpoint_auth_method": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert Client.objects.get(name="Admin bot").scope == "console:audit:read"
