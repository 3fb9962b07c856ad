"""Properties of redirect-URI matching at the HTTP level: registered vs presented.

Random registered URIs (https with paths, queries and ports; loopback http with or without a port;
`localhost`; private-use schemes) and presented variants of them (case of scheme, host or path,
trailing slash, added, removed, reordered or repeated query parameters, fragments, user information,
percent-encoding, dot segments, ports, IDN vs punycode, whitespace), driven through the production
`/oauth/authorize` → consent → `/oauth/token`. Every example tries every mutation of every
registered URI (with random details, some stacked two deep), so a lenient matcher is caught by the
one near miss it lets through. For every presented URI:

- `/oauth/authorize` redirects (302, to the presented URI) exactly when the presented URI is one of
  the registered ones, string for string (RFC 9700 §4.1.3), or, for a public client only, a
  registered loopback IP-literal URI with another port (RFC 8252 §7.3); otherwise it shows the
  error page (400, no Location, no code minted), never a consent page;
- a code is redeemed only with the redirect_uri of its authorization request, string for string:
  any other (omitted, another registered one, another loopback port, any variant) is 400
  `invalid_grant` (RFC 6749 §4.1.3) and spends nothing; the exact one then gets the token.

The oracle (`should_redirect`) is written from the RFCs, not from `server.policies`: it compares
strings, and for the loopback exception parses with its own pattern. It found four deviations of
the server's loopback matching (`HTTP://127.0.0.1/cb`, a leading space, an empty fragment and
`http://[::1].evil.example/cb` all redirected), fixed in `policies.redirect_uri_matches`.
"""

import itertools
import re
import secrets
from urllib.parse import urlencode

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.models import AuthorizationCode, Client, Token
from tests.properties.uri_variants import MUTATIONS, presented_variants, registered_uri_lists
from tests.server.helpers import basic_auth, form, pkce_pair, query_of

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# RFC 8252 §7.3: a loopback IP literal over plain http; only the port may differ from the
# registered URI. Userinfo, a fragment or anything else in the authority does not fit the pattern.
LOOPBACK = re.compile(r"http://(?P<host>127\.0\.0\.1|\[::1\])(?::(?P<port>[0-9]{1,5}))?(?P<rest>[/?][^#]*)?")

# Each example's requests come from an address of their own (the token endpoint's per-address limit).
_ADDRESSES = (f"10.17.{200 + n // 250}.{n % 250 + 1}" for n in itertools.count())
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- the oracle ---------------------------------------------------------------------------------


def should_redirect(presented: str, registered: list[str], *, public: bool) -> bool:
    """RFC 9700 §4.1.3: string for string; RFC 8252 §7.3: a native app's (public client's)
    loopback IP-literal URI may come back with any port, and nothing else changed."""
    if presented in registered:
        return True
    if not public:
        return False
    asked = LOOPBACK.fullmatch(presented)
    if asked is None:
        return False
    for uri in registered:
        known = LOOPBACK.fullmatch(uri)
        if known and (known["host"], known["rest"]) == (asked["host"], asked["rest"]):
            return True
    return False


# --- driving the endpoints ----------------------------------------------------------------------


def _authorize(http, client_id: str, redirect_uri: str):
    """GET the authorization endpoint; approve the consent page if one is shown."""
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "profile",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = "/oauth/authorize?" + urlencode(params)
    response = http.get(url)
    shown_page = response.status_code == 200
    if shown_page:
        response = http.post(url, {"confirm": "yes"})
    return response, verifier, shown_page


def _redeem(http, client: Client, secret: str | None, code: str, verifier: str, redirect_uri):
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    if secret is None:
        data["client_id"] = client.client_id
        return form(http, "/oauth/token", data)
    return form(http, "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))


@EXAMPLES
@given(registered=registered_uri_lists, data=st.data())
def test_authorize_redirects_only_to_a_registered_uri_and_the_code_only_with_the_same_uri(
    django_user_model, make_client, registered, data
):
    user = django_user_model.objects.create_user("u-" + secrets.token_hex(6))  # no password: no hashing
    http = HttpClient(HTTP_HOST="testserver", secure=True, REMOTE_ADDR=next(_ADDRESSES))
    http.force_login(user)
    presented_uris = data.draw(presented_variants(registered), label="presented")
    # Both kinds of client with the same URIs: the loopback port rule is for public clients only.
    for public in (True, False):
        kind = Client.Type.PUBLIC if public else Client.Type.CONFIDENTIAL
        client, secret = make_client("Redirect app", client_type=kind, redirect_uris=registered)
        _check_client(http, data, client, secret, registered, presented_uris, public=public)


def _check_client(http, data, client, secret, registered, presented_uris, *, public: bool):
    redeemed = 0
    for presented in presented_uris:
        codes_before = AuthorizationCode.objects.filter(client=client).count()
        response, verifier, shown_page = _authorize(http, client.client_id, presented)

        if not should_redirect(presented, registered, public=public):
            assert not shown_page, f"a consent page for an unregistered redirect_uri {presented!r}"
            assert response.status_code == 400, (presented, response.status_code, response.get("Location"))
            assert not response.has_header("Location")
            assert AuthorizationCode.objects.filter(client=client).count() == codes_before
            continue

        assert response.status_code == 302, (presented, response.status_code, response.content[:300])
        location = response["Location"]
        assert location.startswith(presented + ("&" if "?" in presented else "?")), (presented, location)
        if redeemed == 2:
            continue  # two codes per example are redeemed: the token requests cost more
        redeemed += 1
        code = query_of(location)["code"]

        # The token request must repeat the authorization request's URI, string for string:
        # omitted, another registered one, or a variant of this one are all refused.
        instead = data.draw(st.sampled_from(["omitted", "registered", "variant"]), label="token redirect_uri")
        token_redirect_uri = None
        if instead == "registered":
            token_redirect_uri = data.draw(st.sampled_from(registered))
        elif instead == "variant":
            token_redirect_uri = data.draw(st.sampled_from(MUTATIONS))(presented, data.draw)
        tokens_before = Token.objects.filter(client=client).count()
        if token_redirect_uri != presented:
            refused = _redeem(http, client, secret, code, verifier, token_redirect_uri)
            assert refused.status_code == 400, (presented, token_redirect_uri, refused.content)
            # RFC 6749 §4.1.3: a different URI is invalid_grant; one with control characters is not a
            # URI at all (Appendix A), so the request is malformed: invalid_request (§5.2).
            malformed = token_redirect_uri is not None and CONTROL.search(token_redirect_uri)
            wanted = "invalid_request" if malformed else "invalid_grant"
            assert refused.json()["error"] == wanted, (presented, token_redirect_uri, refused.json())
            assert Token.objects.filter(client=client).count() == tokens_before
        issued = _redeem(http, client, secret, code, verifier, presented)
        assert issued.status_code == 200, (presented, issued.content)
        assert issued.json()["access_token"]
