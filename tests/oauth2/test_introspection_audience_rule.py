"""`IntrospectionEndpoint`'s audience rule and `resource` parameter, without models."""

from types import SimpleNamespace

import pytest
from authlib.oauth2.rfc6749.errors import InvalidRequestError

from server.oauth2 import IntrospectionEndpoint
from server.oauth2.resource_indicators import InvalidTargetError

A, B = "https://a.example.com/", "https://b.example.com/"


@pytest.mark.parametrize(
    ("audience", "served", "resource", "shown"),
    [
        (None, None, None, True),  # not audience-restricted: as at ResourceProtector
        (None, [A], B, True),
        ([A], None, None, True),  # a client that serves nothing: as before
        ([A], [A], None, True),
        ([A, B], [B], None, True),
        ([A], [B], None, False),  # a token for A, asked by B's resource server
        ([A], [], None, False),
        ([A], None, A, True),
        ([A], None, B, False),
        ([A, B], [A], B, True),  # served overlaps, and the token is for B too
        ([A], [A], B, False),
    ],
)
def test_meant_for(audience, served, resource, shown):
    assert IntrospectionEndpoint().meant_for(audience, served, resource) is shown


def _request(*values):
    return SimpleNamespace(payload=SimpleNamespace(datalist={"resource": list(values)} if values else {}))


def test_requested_resource():
    endpoint = IntrospectionEndpoint()
    assert endpoint.requested_resource(_request()) is None
    assert endpoint.requested_resource(_request(A)) == A
    with pytest.raises(InvalidRequestError):
        endpoint.requested_resource(_request(A, B))
    for bad in ("relative", "https://a.example.com/#f", "https://a.example.com/ x", "x" * 3000):
        with pytest.raises(InvalidTargetError):
            endpoint.requested_resource(_request(bad))
