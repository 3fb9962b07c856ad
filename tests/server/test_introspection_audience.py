"""Introspection (RFC 7662) honours the audience (RFC 8707): a resource server that introspects
sees only the tokens meant for the APIs it serves as active; the optional `resource` parameter.

An API names its resource servers (`Api.resource_servers`, confidential clients); such a client
gets `{"active": false}` (exactly the answer for an unknown token, RFC 7662 §2.2) for a token
whose audience names none of its APIs. A client that serves no API introspects as before.
"""

import itertools

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import services
from server.actors import Actor
from server.models import Api, Client
from server.policy_rules import PolicyError
from tests.server.helpers import basic_auth, form
from tests.server.resource_helpers import DEFAULT, token_request

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
APIS = [f"https://api{n}.example.com/" for n in range(3)] + ["https://api3.example.com/v2"]
INACTIVE = {"active": False}
_ADDRESSES = (f"10.19.{100 + n // 250}.{n % 250 + 1}" for n in itertools.count())


def introspect(http, client, secret, token, **extra):
    data = {"token": token, **extra}
    return form(http, "/oauth/introspect", data, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))


@pytest.fixture
def world(make_client):
    """APIs, each with its own resource server (which may not introspect any token by the old
    flag), a client allowed every API that gets the tokens, and a gateway that serves none and
    may introspect every token."""
    issuer, issuer_secret = make_client("Issuer")
    servers = {}
    for identifier in APIS:
        server, secret = make_client(f"RS {identifier}", grant_types=["client_credentials"])
        services.create_api(
            actor=Actor.system("tests"),
            identifier=identifier,
            name=identifier,
            scopes={"use": "Use it"},
            allowed_clients=[issuer.client_id],
            resource_servers=[server.client_id],
        )
        servers[identifier] = (server, secret)
    gateway, gateway_secret = make_client("Gateway")
    Client.objects.filter(pk=gateway.pk).update(can_introspect_any_token=True)
    gateway.refresh_from_db()
    return issuer, issuer_secret, servers, (gateway, gateway_secret)


def _issue(http, issuer, secret, named) -> str:
    answer = token_request(http, issuer.client_id, secret, {"grant_type": "client_credentials"}, named)
    assert answer.status_code == 200, answer.content
    return answer.json()["access_token"]


@EXAMPLES
@given(named=st.lists(st.sampled_from([*APIS, DEFAULT]), max_size=4, unique=True))
def test_a_resource_server_only_ever_sees_its_own_apis_tokens(world, named):
    issuer, issuer_secret, servers, (gateway, gateway_secret) = world
    http = HttpClient(REMOTE_ADDR=next(_ADDRESSES))
    token = _issue(http, issuer, issuer_secret, named)
    audience = named or [DEFAULT]
    for identifier, (server, secret) in servers.items():
        answer = introspect(http, server, secret, token).json()
        if identifier in audience:
            assert answer["active"] is True and answer["client_id"] == issuer.client_id
            aud = answer["aud"] if isinstance(answer["aud"], list) else [answer["aud"]]
            assert identifier in aud
        else:
            # Not a word more than for a token that does not exist.
            assert answer == INACTIVE
    # Who serves no API introspects as before: the gateway every token, the issuer its own.
    assert introspect(http, gateway, gateway_secret, token).json()["active"] is True
    assert introspect(http, issuer, issuer_secret, token).json()["active"] is True


def test_an_inactive_answer_for_another_api_reads_as_an_unknown_token(world):
    issuer, issuer_secret, servers, _ = world
    http = HttpClient()
    token = _issue(http, issuer, issuer_secret, [APIS[0]])
    server, secret = servers[APIS[1]]
    other = introspect(http, server, secret, token)
    unknown = introspect(http, server, secret, "oat_" + "x" * 43)
    assert other.status_code == unknown.status_code == 200
    assert other.content == unknown.content
    assert other.json() == INACTIVE


def test_a_resource_server_never_sees_tokens_for_this_servers_own_api(world):
    issuer, issuer_secret, servers, _ = world
    http = HttpClient()
    token = _issue(http, issuer, issuer_secret, [])
    for server, secret in servers.values():
        assert introspect(http, server, secret, token).json() == INACTIVE


def test_serving_an_api_lets_a_client_see_its_tokens_even_without_the_flag(world):
    issuer, issuer_secret, servers, _ = world
    server, secret = servers[APIS[2]]
    assert not server.can_introspect_any_token
    token = _issue(HttpClient(), issuer, issuer_secret, [APIS[2], APIS[0]])
    answer = introspect(HttpClient(), server, secret, token).json()
    assert answer["active"] is True and sorted(answer["aud"]) == sorted([APIS[2], APIS[0]])


def test_the_flag_does_not_widen_a_resource_server(world):
    issuer, issuer_secret, servers, _ = world
    server, secret = servers[APIS[0]]
    Client.objects.filter(pk=server.pk).update(can_introspect_any_token=True)
    token = _issue(HttpClient(), issuer, issuer_secret, [APIS[1]])
    assert introspect(HttpClient(), server, secret, token).json() == INACTIVE


def test_removing_a_resource_server_restores_the_old_rule(world):
    issuer, issuer_secret, servers, _ = world
    server, secret = servers[APIS[0]]
    token = _issue(HttpClient(), issuer, issuer_secret, [APIS[0]])
    api = Api.objects.get(identifier=APIS[0])
    services.change_api(api, actor=Actor.system("tests"), resource_servers=[])
    # Neither its own token nor can_introspect_any_token: as for any other client.
    assert introspect(HttpClient(), server, secret, token).json() == INACTIVE


# --- the `resource` parameter ------------------------------------------------------------------


def test_resource_names_the_api_the_token_must_be_for(world):
    issuer, issuer_secret, _servers, (gateway, gateway_secret) = world
    http = HttpClient()
    token = _issue(http, issuer, issuer_secret, [APIS[0], APIS[1]])
    for resource in (APIS[0], APIS[1]):
        assert introspect(http, gateway, gateway_secret, token, resource=resource).json()["active"] is True
    for resource in (APIS[2], DEFAULT, "https://unknown.example.com/"):
        assert introspect(http, gateway, gateway_secret, token, resource=resource).json() == INACTIVE


def test_resource_of_this_servers_own_api_matches_a_token_that_named_none(world):
    issuer, issuer_secret, _servers, (gateway, gateway_secret) = world
    http = HttpClient()
    token = _issue(http, issuer, issuer_secret, [])
    assert introspect(http, gateway, gateway_secret, token, resource=DEFAULT).json()["active"] is True
    assert introspect(http, gateway, gateway_secret, token, resource=APIS[0]).json() == INACTIVE


def test_a_resource_server_naming_another_api_sees_nothing_more(world):
    issuer, issuer_secret, servers, _ = world
    http = HttpClient()
    token = _issue(http, issuer, issuer_secret, [APIS[0], APIS[1]])
    server, secret = servers[APIS[0]]
    assert introspect(http, server, secret, token, resource=APIS[0]).json()["active"] is True
    # The token is for APIS[1] too, but the asker must still be one of its audience's servers.
    outsider, outsider_secret = servers[APIS[2]]
    assert introspect(http, outsider, outsider_secret, token, resource=APIS[1]).json() == INACTIVE


@pytest.mark.parametrize(
    ("resource", "error"),
    [
        ("orders", "invalid_target"),  # not an absolute URI (RFC 8707 §2)
        ("/api", "invalid_target"),
        ("https://api0.example.com/#frag", "invalid_target"),  # a fragment (§2)
        ("https://api0.example.com/ x", "invalid_target"),
        ("https://api0.example.com/" + "a" * 2048, "invalid_request"),  # over the length limit
    ],
)
def test_a_bad_resource_is_a_clear_400(world, resource, error):
    issuer, issuer_secret, _servers, (gateway, gateway_secret) = world
    http = HttpClient()
    token = _issue(http, issuer, issuer_secret, [APIS[0]])
    answer = introspect(http, gateway, gateway_secret, token, resource=resource)
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == error


def test_two_resources_are_invalid_request(world):
    issuer, issuer_secret, _servers, (gateway, gateway_secret) = world
    http = HttpClient()
    token = _issue(http, issuer, issuer_secret, [APIS[0]])
    body = f"token={token}&resource={APIS[0]}&resource={APIS[1]}"
    answer = http.post(
        "/oauth/introspect",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(gateway.client_id, gateway_secret),
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_an_empty_resource_is_as_none_named(world):
    issuer, issuer_secret, _servers, (gateway, gateway_secret) = world
    http = HttpClient()
    token = _issue(http, issuer, issuer_secret, [APIS[0]])
    # The form parser drops empty parameters (as at the token endpoint): no resource named.
    answer = introspect(http, gateway, gateway_secret, token, resource="")
    assert answer.status_code == 200 and answer.json()["active"] is True


# --- the doors that edit an API's resource servers ---------------------------------------------


def test_a_public_client_cannot_be_a_resource_server(make_client):
    from server.models import Client as ClientModel

    public, _ = make_client("SPA", client_type=ClientModel.Type.PUBLIC)
    with pytest.raises(PolicyError, match="public client"):
        services.create_api(
            actor=Actor.system("tests"),
            identifier=APIS[0],
            name="A",
            resource_servers=[public.client_id],
        )
    with pytest.raises(PolicyError, match="No client"):
        services.create_api(
            actor=Actor.system("tests"), identifier=APIS[0], name="A", resource_servers=["nope"]
        )


def test_the_default_api_takes_no_resource_servers(make_client):
    from server import apis

    server, _ = make_client("RS")
    with pytest.raises(PolicyError, match="cannot be set"):
        services.change_api(
            apis.default_api(), actor=Actor.system("tests"), resource_servers=[server.client_id]
        )


def test_changing_resource_servers_is_recorded_as_client_ids(world, django_capture_on_commit_callbacks):
    from server import signals

    _issuer, _secret, servers, (gateway, _gs) = world
    api = Api.objects.get(identifier=APIS[0])
    seen = []

    def listen(sender, changes=None, **kwargs):
        seen.append(changes)

    signals.api_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.change_api(api, actor=Actor.system("tests"), resource_servers=[gateway.client_id])
    finally:
        signals.api_changed.disconnect(listen)
    assert seen == [{"resource_servers": [[servers[APIS[0]][0].client_id], [gateway.client_id]]}]


def test_export_and_import_carry_resource_servers(world):
    from oauth_console.clients import api_transfer

    _issuer, _secret, servers, _gateway = world
    rows = api_transfer.export_rows(Api.objects.filter(identifier=APIS[1]))
    assert rows[0]["resource_servers"] == [servers[APIS[1]][0].client_id]
    rows[0]["identifier"] = "https://copy.example.com/"
    (copy,) = api_transfer.import_rows(rows, actor=Actor.system("tests"))
    assert [c.client_id for c in copy.resource_servers.all()] == [servers[APIS[1]][0].client_id]


@pytest.mark.parametrize("value", ["abc", {"abc": 1}, 3, [1], None])
def test_an_import_row_with_resource_servers_of_the_wrong_shape_is_refused(value):
    from oauth_console.clients import api_transfer

    row = {"identifier": "https://bad.example.com/", "name": "Bad", "resource_servers": value}
    if value is None:
        # A null column is as absent (the export writes none): the API is created without any.
        (api,) = api_transfer.import_rows([row], actor=Actor.system("tests"))
        assert not api.resource_servers.exists()
        return
    with pytest.raises(api_transfer.ImportProblems):
        api_transfer.import_rows([row], actor=Actor.system("tests"))
    assert not Api.objects.filter(identifier="https://bad.example.com/").exists()
