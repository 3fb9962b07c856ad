"""Hostile values in each parameter of the authorization endpoint's query, signed in and not, for
a known client and redirect URI and for unknown ones (RFC 6749 §4.1.2.1): an answer (the consent
page, the sign-in page, an error page, or an error sent to the validated redirect URI), never a
500; an error goes to the redirect URI only once the client and the redirect URI are validated;
the consent POST with the same query writes nothing it should not."""

from urllib.parse import quote

import pytest
from django.test import Client as HttpClient

from server.models import AuthorizationCode, Consent
from tests.server.helpers import REDIRECT_URI, pkce_pair

from .page_walk import HOSTILE_QUERY_VALUES

pytestmark = pytest.mark.django_db

PARAMETERS = [
    "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
    "code_challenge_method", "nonce", "prompt", "max_age", "claims", "request", "request_uri",
    "resource", "login_hint", "id_token_hint", "ui_locales", "acr_values", "response_mode", "display",
]  # fmt: skip
# Already percent-encoded (page_walk's), and values each parameter's own parser meets.
VALUES = [
    *HOSTILE_QUERY_VALUES,
    quote('{"userinfo": {"email": null}}'),
    quote('{"id_token": []}'),
    quote("[" * 2000),
    "eyJhbGciOiJub25lIn0.eyJ9.",
    quote("https://evil.example/"),
    quote("none login consent"),
    "1e999",
    "%2B1",
    "%20",
    "",
]


@pytest.fixture
def app(make_client, settings):
    settings.OAUTH2_RATE_LIMIT_ENABLED = False
    client, _secret = make_client("Authorize target")
    return client


def _query(client_id: str, name: str, value: str, repeated: bool) -> str:
    _verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": quote(REDIRECT_URI, safe=""),
        "scope": "profile",
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    pairs = [(key, val) for key, val in params.items() if key != name or repeated]
    pairs.append((name, value))
    return "&".join(f"{key}={val}" for key, val in pairs)


def _check(response, url: str, *, validated: bool) -> None:
    assert response.status_code < 500, (url[:300], response.status_code)
    location = response.get("Location", "")
    assert not location.startswith("https://evil.example"), (url[:300], location[:200])
    if location.startswith("https://app.example.com/"):
        assert location.startswith(REDIRECT_URI + "?"), (url[:300], location[:200])
        assert validated, ("sent to an unvalidated redirect URI", url[:300], location[:200])


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed in"])
@pytest.mark.parametrize("repeated", [False, True], ids=["replaced", "repeated"])
def test_a_hostile_authorize_parameter_is_answered_never_a_500(app, end_user, signed_in, repeated):
    browser = HttpClient(raise_request_exception=False)
    if signed_in:
        browser.force_login(end_user)
    codes, consents = AuthorizationCode.objects.count(), Consent.objects.count()
    failed = []
    for client_id in (app.client_id, "unknown-client"):
        for name in PARAMETERS:
            for value in VALUES:
                url = "/oauth/authorize?" + _query(client_id, name, value, repeated)
                # Only a known client's registered redirect URI is ever sent anything (an empty or
                # missing redirect_uri means the only one registered, RFC 6749 §3.1.2.3).
                validated = client_id == app.client_id and (repeated or name != "client_id")
                for response in (browser.get(url), browser.post(url, {"deny": "yes"})):
                    try:
                        _check(response, url, validated=validated)
                    except AssertionError as error:
                        failed.append(str(error))
                    if AuthorizationCode.objects.count() != codes:
                        failed.append(f"a code written: {response.request['REQUEST_METHOD']} {url[:300]}")
                        codes = AuthorizationCode.objects.count()
    assert not failed, "\n".join(failed[:60])
    # Denied or refused: no code and no consent written.
    assert Consent.objects.count() == consents
