"""The operator API's test bed: machine clients holding operator scopes, and their tokens from
our own token endpoint (client_credentials), as Terraform would get them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.test import Client as HttpClient

from server import services
from server.actors import Actor
from server.conf import DEFAULT_OPERATOR_SCOPES
from server.models import Client
from tests.server.helpers import basic_auth, form

ALL_SCOPES = tuple(DEFAULT_OPERATOR_SCOPES)
PROBLEM = "application/problem+json"


def machine_client(scopes, name: str = "Terraform") -> tuple[Client, str]:
    return services.create_client(
        name=name,
        actor=Actor.system("tests"),
        grant_types=["client_credentials"],
        scope=list(scopes),
        operator_scopes_allowed=list(scopes),
    )


def token_for(client: Client, secret: str, scopes) -> str:
    response = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": " ".join(scopes)},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@dataclass
class Api:
    """An HTTP client that sends a bearer token and JSON bodies."""

    http: HttpClient
    token: str | None
    client: Client | None = None

    def _headers(self, headers):
        out = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        out.update(headers)
        return out

    def get(self, path, params=None, **headers):
        return self.http.get(path, params or {}, **self._headers(headers))

    def send(
        self,
        method,
        path,
        body=None,
        *,
        raw: bytes | str | None = None,
        content_type="application/json",
        **headers,
    ):
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        call = getattr(self.http, method.lower())
        return call(path, data, content_type=content_type, **self._headers(headers))

    def post(self, path, body=None, **kw):
        return self.send("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.send("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.send("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.send("DELETE", path, None, **kw)


def api_with(scopes) -> Api:
    client, secret = machine_client(scopes)
    return Api(HttpClient(), token_for(client, secret, scopes), client)


@pytest.fixture
def api(db) -> Api:
    """A caller holding every operator scope."""
    return api_with(ALL_SCOPES)


@pytest.fixture
def anonymous(db) -> Api:
    return Api(HttpClient(), None)


def assert_problem(response, status: int, slug: str | None = None) -> dict:
    """The answer is RFC 9457 problem+json with `status` (and the problem type `slug`)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].split(";")[0] == PROBLEM, response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"].startswith("urn:oauth-console:problem:")
    if slug:
        assert body["type"] == f"urn:oauth-console:problem:{slug}", body
    return body


def web_client(**overrides) -> dict:
    body = {
        "name": "Billing portal",
        "redirect_uris": ["https://billing.example.com/callback"],
        "scope": ["profile"],
    }
    body.update(overrides)
    return body
