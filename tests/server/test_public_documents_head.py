"""The public documents (RFC 8414 and OpenID discovery metadata, RFC 9728 resource metadata, the
JWK Set) answer HEAD as they answer GET (RFC 9110 §9.3.2: a server that answers GET should
answer HEAD the same way, without the body): link checkers, caches and uptime probes send HEAD,
and a 405 there reads as "this URL is broken". Other methods stay refused."""

import pytest

pytestmark = pytest.mark.django_db

DOCUMENTS = [
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-protected-resource/api",
    "/oauth/jwks",
]


@pytest.mark.parametrize("path", DOCUMENTS)
def test_head_answers_with_the_headers_of_get(client, path):
    got = client.get(path)
    head = client.head(path)
    assert got.status_code == 200
    assert head.status_code == 200
    for header in ("Content-Type", "Cache-Control", "Access-Control-Allow-Origin"):
        assert head.headers.get(header) == got.headers.get(header), header
    assert head.content == b""  # the test client strips it as a server would


@pytest.mark.parametrize("path", DOCUMENTS)
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_other_methods_are_refused(client, path, method):
    assert getattr(client, method)(path).status_code == 405
