import pytest
from django.test import Client as HttpClient

from server import services
from server.actors import Actor
from tests.server.helpers import basic_auth, form

from .doors import World


def _operator_api_token() -> str:
    """A token of a machine client that may create clients through the operator API."""
    scope = ["console:clients:write"]
    client, secret = services.create_client(
        name="Matrix API caller",
        actor=Actor.system("tests"),
        grant_types=["client_credentials"],
        scope=scope,
        operator_scopes_allowed=scope,
    )
    answer = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": " ".join(scope)},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    return answer.json()["access_token"]


@pytest.fixture
def world(django_user_model):
    operator = django_user_model.objects.create_superuser("m-root", "root@example.com", "root-pw-123456")
    developer = django_user_model.objects.create_user("m-dana", "dana@example.com", "dana-pw-123456")
    end_user = django_user_model.objects.create_user("m-alice", "alice@example.com", "alice-pw-123456")
    visitor = django_user_model.objects.create_user("m-bob", "bob@example.com", "bob-pw-1234567")
    clients = []
    for user in (operator, developer, end_user, visitor):
        http = HttpClient(HTTP_HOST="testserver")
        http.force_login(user)
        clients.append(http)
    return World(
        operator, developer, end_user, *clients, HttpClient(HTTP_HOST="testserver"), _operator_api_token()
    )
