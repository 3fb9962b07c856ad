"""The held-out property of RFC 8707 audiences: a token for one API never works at another.

Several APIs (and this server's own, the default), a client allowed some of them, and a random
request at the production token endpoint (client_credentials) naming a random list of resources
(known or not, permitted or not, repeated). Then every API's protected view and introspection are
asked about the token. For every example:

- the request succeeds exactly when every named resource is known and permitted to the client;
  otherwise it is 400 `invalid_target` and no token is stored;
- an issued token is accepted by exactly the APIs it named (this server's API when it named
  none), and refused (401 invalid_token) by every other one;
- introspection's `aud` lists exactly those APIs.
"""

import itertools

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import services
from server.actors import Actor
from server.models import Token
from tests.server.helpers import basic_auth, form
from tests.server.resource_helpers import DEFAULT, api_view, token_request

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
APIS = [f"https://api{n}.example.com/" for n in range(4)] + ["https://api4.example.com/v2"]
UNKNOWN = ["https://unknown.example.com/", "https://api0.example.com/other", "https://api1.example.com"]
_ADDRESSES = (f"10.18.{100 + n // 250}.{n % 250 + 1}" for n in itertools.count())


@pytest.fixture
def world(make_client):
    client, secret = make_client()
    permitted = set(APIS[:3])
    for identifier in APIS:
        services.create_api(
            actor=Actor.system("tests"),
            identifier=identifier,
            name=identifier,
            scopes={"use": "Use it"},
            allowed_clients=[client.client_id] if identifier in permitted else [],
        )
    views = {identifier: api_view(identifier) for identifier in [*APIS, DEFAULT]}
    return client, secret, permitted, views


@EXAMPLES
@given(named=st.lists(st.sampled_from([*APIS, *UNKNOWN, DEFAULT]), max_size=5))
def test_a_token_for_one_api_never_works_at_another(world, named):
    client, secret, permitted, views = world
    http = HttpClient(REMOTE_ADDR=next(_ADDRESSES))
    before = Token.objects.count()
    answer = token_request(http, client.client_id, secret, {"grant_type": "client_credentials"}, named)
    allowed = permitted | {DEFAULT}
    if not all(value in allowed for value in named):
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_target"
        assert Token.objects.count() == before
        return
    assert answer.status_code == 200, answer.content
    access = answer.json()["access_token"]
    audience = set(named) or {DEFAULT}
    for identifier, view in views.items():
        status = view(access).status_code
        assert status == (200 if identifier in audience else 401), (identifier, named)
    reported = form(
        http, "/oauth/introspect", {"token": access}, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret)
    ).json()["aud"]
    assert set([reported] if isinstance(reported, str) else reported) == audience


# The December review's finding 1: an API's scope named like one of this server's own
# (OAUTH2_SCOPES, the operator scopes) reached this server's API and the operator API when the
# request named that API and this server's together. Whatever the APIs define (rows stored
# around the policy included) and whatever a request names, a scope of this server's vocabulary
# reaches a token only through the client's own scopes.
VOCABULARY = ["profile", "email", "read", "write", "console:clients:read", "console:clients:write"]
OWN_SCOPES = ["read", "profile"]


@pytest.fixture
def colliding(make_client):
    client, secret = make_client(grant_types=["client_credentials"], redirect_uris=[], scope=OWN_SCOPES)
    for identifier in APIS[:3]:
        api = services.create_api(
            actor=Actor.system("tests"), identifier=identifier, name=identifier, allow_any_client=True
        )
        api.scopes = {name: name for name in [*VOCABULARY, "use"]}  # around the policy
        api.save(update_fields=["scopes"])
    return client, secret


@EXAMPLES
@given(
    named=st.lists(st.sampled_from([*APIS[:3], DEFAULT]), max_size=3, unique=True),
    asked=st.lists(st.sampled_from([*VOCABULARY, "use"]), min_size=1, max_size=4, unique=True),
)
def test_this_servers_scopes_come_only_from_the_clients_own(colliding, named, asked):
    client, secret = colliding
    http = HttpClient(REMOTE_ADDR=next(_ADDRESSES))
    data = {"grant_type": "client_credentials", "scope": " ".join(asked)}
    answer = token_request(http, client.client_id, secret, data, named)
    if answer.status_code != 200:
        assert answer.status_code == 400 and answer.json()["error"] in ("invalid_scope", "invalid_target")
        return
    granted = set(answer.json()["scope"].split())
    assert granted & set(VOCABULARY) <= set(OWN_SCOPES), (named, asked, granted)
