"""An agent-style client (the Model Context Protocol's authorization profile) built with authlib's
client classes, against a live server: it knows only an API's URL. From the API's 401 it finds the
RFC 9728 document (`resource_metadata`), from that the authorization server and its RFC 8414
metadata, registers itself (RFC 7591, with an initial access token), runs the code flow with PKCE
and a `resource` (RFC 8707), and calls the API with the audience-bound token. The same token is
refused at this server's own API, and a token for that one is refused at Orders.
"""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from server import services
from server.actors import Actor
from server.models import Token

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

CALLBACK = "http://127.0.0.1/callback"


@pytest.fixture
def orders_site(settings, live_server):
    settings.ROOT_URLCONF = "tests.interop.agent_urls"
    services.create_api(
        actor=Actor.system("tests"),
        identifier=live_server.url + "/orders",
        name="Orders",
        scopes={"orders:read": "See your orders"},
        allow_any_client=True,
    )
    return live_server.url


def discover(api_url: str) -> tuple[dict, dict]:
    """RFC 9728 §5.1 then §3 then RFC 8414 §3: (resource metadata, server metadata)."""
    refused = requests.get(api_url, timeout=10)
    assert refused.status_code == 401
    found = re.search(r'resource_metadata="([^"]+)"', refused.headers["WWW-Authenticate"])
    assert found, refused.headers["WWW-Authenticate"]
    resource = requests.get(found.group(1), timeout=10).json()
    # RFC 9728 §3.3: the document is about the resource the client asked.
    assert api_url.startswith(resource["resource"])
    issuer = resource["authorization_servers"][0]
    server = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert server["issuer"] == issuer
    return resource, server


def register(server: dict, initial_token: str) -> str:
    answer = requests.post(
        server["registration_endpoint"],
        json={
            "client_name": "Agent",
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "profile",
        },
        headers={"Authorization": f"Bearer {initial_token}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["client_id"]


def approve(agent, url: str) -> str:
    """The signed-in person opens `url` and approves; the redirect back to the agent."""
    response = agent.http.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 200 and "Orders" in response.text, response.text[:500]
    response = agent.http.post(
        url,
        data={"confirm": "yes", "csrfmiddlewaretoken": agent.http.cookies["csrftoken"]},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def test_an_agent_discovers_registers_and_calls_the_api_with_an_audience_bound_token(
    orders_site, signed_in_agent, alice
):
    api_url = orders_site + "/orders/"
    resource, server = discover(api_url)
    assert resource["scopes_supported"] == ["orders:read"] and resource["resource_name"] == "Orders"

    _row, initial_token = services.create_initial_access_token(
        actor=Actor.system("tests"), allowed_scope=["profile"]
    )
    client_id = register(server, initial_token)

    session = OAuth2Session(
        client_id, scope="orders:read", redirect_uri=CALLBACK, code_challenge_method="S256"
    )
    verifier = generate_token(48)
    url, state = session.create_authorization_url(
        server["authorization_endpoint"], code_verifier=verifier, resource=resource["resource"]
    )
    location = approve(signed_in_agent, url)
    assert dict(parse_qsl(urlsplit(location).query))["state"] == state
    token = session.fetch_token(
        server["token_endpoint"],
        authorization_response=location,
        code_verifier=verifier,
        resource=resource["resource"],
    )
    assert token["scope"] == "orders:read"
    assert Token.objects.get(client__client_id=client_id).audience == resource["resource"]

    answer = session.get(api_url, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"] == "alice"

    # The token is for Orders only: this server's own API refuses it.
    refused = session.get(orders_site + "/api/me", timeout=10)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]

    # And a token the agent got without naming Orders is refused by Orders.
    verifier = generate_token(48)
    plain = OAuth2Session(client_id, scope="profile", redirect_uri=CALLBACK, code_challenge_method="S256")
    url, _state = plain.create_authorization_url(server["authorization_endpoint"], code_verifier=verifier)
    response = signed_in_agent.authorize(dict(parse_qsl(urlsplit(url).query)))
    assert response.status_code == 302, response.text[:300]
    plain.fetch_token(
        server["token_endpoint"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    assert plain.get(orders_site + "/api/me", timeout=10).status_code == 200
    assert plain.get(api_url, timeout=10).status_code == 401


def test_an_unknown_resource_is_refused_back_to_the_agent(orders_site, signed_in_agent, alice):
    _resource, server = discover(orders_site + "/orders/")
    _row, initial_token = services.create_initial_access_token(
        actor=Actor.system("tests"), allowed_scope=["profile"]
    )
    client_id = register(server, initial_token)
    session = OAuth2Session(client_id, scope="profile", redirect_uri=CALLBACK, code_challenge_method="S256")
    url, state = session.create_authorization_url(
        server["authorization_endpoint"], code_verifier=generate_token(48), resource=orders_site + "/billing"
    )
    response = signed_in_agent.http.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    back = dict(parse_qsl(urlsplit(response.headers["Location"]).query))
    assert back["error"] == "invalid_target" and back["state"] == state
