"""A method a machine endpoint does not take is answered as the token endpoint answers it: 405,
`Allow` naming the methods it takes (RFC 9110 §15.5.6), RFC 6749 §5.2's JSON `invalid_request`,
`Cache-Control: no-store`; never Django's empty HTML 405 (UserInfo, JWKS, the metadata documents,
registration and client configuration answered that). One answer, built once:
`server.oauth2.errors.method_not_allowed` (and `require_methods`, its view decorator).

The public documents (metadata, JWKS) keep their own policy for what they serve (public, cacheable
for a while, any origin); their refusal of another method is not that document, so it is never
cached either.
"""

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from server.machine_endpoints import MACHINE_ENDPOINTS

pytestmark = pytest.mark.django_db

# Every machine-facing URL (server/urls.py, server/registration_urls.py) and the methods it takes.
ALLOWED = {
    "oauth-token": {"POST"},
    "oauth-revoke": {"POST"},
    "oauth-introspect": {"POST"},
    "oauth-device-authorization": {"POST"},
    "oauth-userinfo": {"GET", "POST"},
    "api-me": {"GET", "HEAD", "POST"},
    "oauth-jwks": {"GET", "HEAD"},
    "oauth-metadata": {"GET", "HEAD"},
    "oidc-configuration": {"GET", "HEAD"},
    "oauth-protected-resource": {"GET", "HEAD"},
    "oauth-register": {"POST"},
    "oauth-client-configuration": {"GET", "PUT", "DELETE"},
}
PUBLIC_DOCUMENTS = {"oauth-jwks", "oauth-metadata", "oidc-configuration", "oauth-protected-resource"}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def url_of(name: str) -> str:
    return reverse(name, args=["some-client"]) if name == "oauth-client-configuration" else reverse(name)


def refused_methods() -> list[tuple[str, str]]:
    return [
        (name, method) for name, allowed in ALLOWED.items() for method in METHODS if method not in allowed
    ]


def test_every_machine_endpoint_is_listed():
    assert set(MACHINE_ENDPOINTS) <= set(ALLOWED), set(MACHINE_ENDPOINTS) - set(ALLOWED)


@pytest.mark.parametrize("name, method", refused_methods(), ids=lambda v: v)
def test_a_method_an_endpoint_does_not_take_is_a_json_405_never_cached(name, method):
    response = HttpClient().generic(method, url_of(name), secure=True)

    assert response.status_code == 405, (name, method, response.status_code)
    assert set(response["Allow"].replace(" ", "").split(",")) == ALLOWED[name]
    assert "no-store" in response.get("Cache-Control", ""), response.get("Cache-Control")
    assert response["Content-Type"] == "application/json"
    if method != "HEAD":  # a HEAD answer has no body
        body = response.json()
        assert body["error"] == "invalid_request"
        assert body["error_description"] == f"This endpoint accepts only {response['Allow']}."


@pytest.mark.parametrize("name", sorted(PUBLIC_DOCUMENTS))
def test_the_public_documents_keep_their_cache_policy(name):
    response = HttpClient().get(url_of(name), secure=True)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public, max-age=")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert HttpClient().head(url_of(name), secure=True).status_code == 200


def test_the_refusal_is_the_token_endpoints(settings):
    """The same answer, header for header, as the token endpoint's (which raises
    MethodNotAllowedError while parsing)."""
    http = HttpClient()
    token = http.put(reverse("oauth-token"), secure=True)
    userinfo = http.put(reverse("oauth-userinfo"), secure=True)
    for header in ("Content-Type", "Cache-Control", "Pragma"):
        assert userinfo[header] == token[header], header
    assert token.json() == {
        "error": "invalid_request",
        "error_description": "This endpoint accepts only POST.",
    }
    assert userinfo.json() == {
        "error": "invalid_request",
        "error_description": "This endpoint accepts only GET, POST.",
    }
