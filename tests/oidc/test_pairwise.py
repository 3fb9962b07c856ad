"""Pairwise subject identifiers (OIDC Core §8.1; the OIDF Dynamic OP's `oidcc-...-pairwise`
variants): one `sub` per sector (the host of the client's redirect URIs), the same in the ID
token, UserInfo, introspection and after a refresh; the policy at every door."""

import pytest
from django.test import Client as HttpClient
from django.test import override_settings

from server import policies, services
from server.actors import Actor
from server.claims import pairwise_subject, subject_for
from server.models import Client
from tests.oidc.conftest import authorize, sign_in_and_get_tokens, verify_id_token
from tests.server.helpers import basic_auth, form

pytestmark = pytest.mark.django_db

SCOPES = ["openid", "profile", "email", "read"]


@pytest.fixture
def pairwise_rp(make_client):
    return make_client("Pairwise RP", scope=SCOPES, subject_type="pairwise")


def _refresh(client, secret, refresh_token):
    response = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()


def _introspect(client, secret, token):
    response = form(
        HttpClient(),
        "/oauth/introspect",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_oidcc_server_pairwise_the_same_sub_everywhere(browser, pairwise_rp, user):
    client, secret = pairwise_rp
    assert client.sector_identifier == "app.example.com"
    tokens = sign_in_and_get_tokens(browser, client, secret)
    sub = verify_id_token(tokens["id_token"], client, access_token=tokens["access_token"])["sub"]
    assert sub == pairwise_subject("app.example.com", str(user.pk))
    assert sub != str(user.pk) and len(sub) == 43

    userinfo = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert userinfo.status_code == 200 and userinfo.json()["sub"] == sub
    assert _introspect(client, secret, tokens["access_token"])["sub"] == sub

    refreshed = _refresh(client, secret, tokens["refresh_token"])
    assert verify_id_token(refreshed["id_token"], client)["sub"] == sub


def test_oidcc_pairwise_sub_differs_between_sectors_and_not_within_one(make_client, django_user_model):
    user = django_user_model.objects.create_user("bob")
    one, _ = make_client("One", scope=SCOPES, subject_type="pairwise")
    same_host, _ = make_client("Same host", scope=SCOPES, subject_type="pairwise")
    other, _ = make_client(
        "Other", scope=SCOPES, subject_type="pairwise", redirect_uris=["https://other.example.org/cb"]
    )
    public, _ = make_client("Public", scope=SCOPES)
    assert subject_for(user, one) == subject_for(user, same_host), "one sector, one sub"
    assert subject_for(user, one) != subject_for(user, other)
    assert subject_for(user, public) == str(user.pk)
    other_user = django_user_model.objects.create_user("carol")
    assert subject_for(other_user, one) != subject_for(user, one)


def test_the_pairwise_key_comes_from_the_settings(make_client, django_user_model):
    user = django_user_model.objects.create_user("dave")
    client, _ = make_client("Keyed", scope=SCOPES, subject_type="pairwise")
    before = subject_for(user, client)
    with override_settings(OAUTH2_CREDENTIAL_KEY="another-credential-key-" + "x" * 40):
        assert subject_for(user, client) != before


def test_a_private_use_scheme_is_its_own_sector(make_client):
    client, _ = make_client(
        "Native",
        client_type="public",
        scope=SCOPES,
        subject_type="pairwise",
        redirect_uris=["com.example.app:/cb"],
    )
    assert client.sector_identifier == "com.example.app"


@pytest.mark.parametrize(
    "redirect_uris, says",
    [
        (["https://a.example.com/cb", "https://b.example.com/cb"], "span a.example.com, b.example.com"),
        (["http://127.0.0.1:8000/cb"], "loopback"),
    ],
)
def test_pairwise_is_refused_without_one_sector_and_nothing_is_written(make_client, redirect_uris, says):
    before = Client.objects.count()
    with pytest.raises(policies.PolicyError, match=says) as refused:
        make_client("Spread", scope=SCOPES, subject_type="pairwise", redirect_uris=redirect_uris)
    assert "Register a sector_identifier_uri" in str(refused.value) or says == "loopback"
    assert Client.objects.count() == before


def test_a_pairwise_client_without_redirect_uris_is_refused(make_client):
    with pytest.raises(policies.PolicyError, match="needs a redirect URI"):
        make_client(
            "Machine",
            scope=["read"],
            grant_types=["client_credentials"],
            redirect_uris=[],
            subject_type="pairwise",
        )


def test_a_pairwise_client_keeps_its_sector(pairwise_rp, user):
    client, _ = pairwise_rp
    sub = subject_for(user, client)
    actor = Actor.system("tests")
    with pytest.raises(policies.PolicyError, match=r"sector identifier is app\.example\.com"):
        services.update_client(client, actor=actor, redirect_uris=["https://elsewhere.example.net/cb"])
    client.refresh_from_db()
    assert client.redirect_uri_list == ["https://app.example.com/callback"]
    # Another path on the same host is fine; public and back keeps the sector (and so the sub).
    services.update_client(client, actor=actor, redirect_uris=["https://app.example.com/other"])
    services.update_client(client, actor=actor, subject_type="public")
    client.refresh_from_db()
    assert subject_for(user, client) == str(user.pk)
    with pytest.raises(policies.PolicyError, match=r"sector identifier is app\.example\.com"):
        services.update_client(
            client, actor=actor, subject_type="pairwise", redirect_uris=["https://elsewhere.example.net/cb"]
        )
    services.update_client(client, actor=actor, subject_type="pairwise")
    client.refresh_from_db()
    assert subject_for(user, client) == sub


def test_a_legacy_pairwise_row_without_a_sector_still_gets_a_pairwise_sub(pairwise_rp, user):
    client, _ = pairwise_rp
    Client.objects.filter(pk=client.pk).update(sector_identifier="")
    client.refresh_from_db()
    sub = subject_for(user, client)
    assert sub == pairwise_subject(f"client:{client.client_id}", str(user.pk)) != str(user.pk)


def test_an_id_token_hint_of_a_pairwise_client_is_recognised(browser, pairwise_rp):
    client, secret = pairwise_rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    response, _verifier = authorize(browser, client, prompt="none", id_token_hint=tokens["id_token"])
    assert "code=" in response["Location"], response["Location"]
