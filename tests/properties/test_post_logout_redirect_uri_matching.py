"""The held-out property of RP-Initiated Logout §3 at the HTTP level: the end-session endpoint
redirects only to a `post_logout_redirect_uri` the named client registered, string for string.

Random registered URIs (https with paths, queries and ports; loopback http; private-use schemes)
and every near miss of them (`tests/properties/uri_variants.py`: case, trailing slash, queries,
fragments, user information, percent-encoding, dot segments, ports, IDN, whitespace, another
host), presented with `client_id` by a browser where nobody is signed in: the path that redirects
at once, without a confirmation page. A registered URI gets a 302 to itself with `state`; any other
gets the error page (400, no Location). There is no loopback-port exception here: §3 says "exactly
match" (the December attack review, docs/security.md). It found that a registered private-use URI
(`com.example.app:/callback`) was a bare 400 instead of its redirect (`server/logout_views.py`).
"""

import pytest
from django.test import Client as HttpClient
from django.utils.encoding import iri_to_uri
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import services
from server.actors import Actor
from tests.properties.uri_variants import presented_variants, registered_uri_lists

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@EXAMPLES
@given(registered=registered_uri_lists, data=st.data())
def test_end_session_redirects_only_to_a_registered_post_logout_uri(make_client, registered, data):
    client, _ = make_client("Logout app")
    services.update_client(client, actor=Actor.system("t"), post_logout_redirect_uris=registered)
    browser = HttpClient()
    for presented in data.draw(presented_variants(registered), label="presented"):
        response = browser.get(
            "/oauth/logout",
            {"client_id": client.client_id, "post_logout_redirect_uri": presented, "state": "s1"},
        )
        if presented in registered:
            assert response.status_code == 302, (presented, response.status_code)
            location = response["Location"]
            # As sent on the wire: an IDN host or path percent-encoded (RFC 3987 §3.1), nothing else.
            assert location.startswith(iri_to_uri(presented)) and location.endswith("state=s1"), (
                presented,
                location,
            )
        else:
            assert response.status_code == 400, (presented, response.status_code, response.get("Location"))
            assert not response.has_header("Location")
