"""The authorization endpoint is not an open redirector (RFC 9700 §4.11.2, issue 11 item 9).

Anyone holding an initial access token can register a client whose redirect URI is a phishing
page. An error is sent there only once the client and its redirect URI were validated as a
pair, and never to a visitor who has not signed in (except the silent prompt=none answer).
"""

import pytest
from django.test import Client as HttpClient

from server.models import AuthorizationCode
from tests.server.helpers import REDIRECT_URI, authorize_url, pkce_pair, query_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def attacker_app(make_client):
    client, _ = make_client("Registered by anyone", source="dcr")
    return client


@pytest.fixture
def signed_in(end_user):
    browser = HttpClient()
    browser.force_login(end_user)
    return browser


def _bare_url(client_id: str, response_type: str) -> str:
    return f"/oauth/authorize?client_id={client_id}&response_type={response_type}"


@pytest.mark.parametrize("response_type", ["token", "id_token", "code token", "none", "bogus"])
def test_anonymous_unsupported_response_type_signs_in_first(client, attacker_app, response_type):
    """The report's repro: no redirect_uri, the client's only registered URI is the default. A
    visitor who has not signed in is never bounced to the client's site: sign in first, as for
    every other error (RFC 9700 §4.11.2)."""
    response = client.get(_bare_url(attacker_app.client_id, response_type.replace(" ", "+")))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_unsupported_response_type_goes_to_a_signed_in_users_client(signed_in, attacker_app):
    """Once signed in, the error goes back to the client's registered redirect URI (RFC 6749
    §4.1.2.1, OIDC Core §3.1.2.6), as invalid_scope does below; no code is made, and a consent
    POST cannot turn it into one."""
    _, challenge = pkce_pair()
    url = authorize_url(attacker_app.client_id, challenge, response_type="token")
    for response in (signed_in.get(url), signed_in.post(url, {"confirm": "yes"})):
        assert response.status_code == 302
        assert response["Location"].startswith(REDIRECT_URI + "?")
        assert query_of(response["Location"])["error"] == "unsupported_response_type"
    assert not AuthorizationCode.objects.exists()


def test_unsupported_response_type_is_shown_for_an_unregistered_redirect_uri(signed_in, attacker_app):
    _, challenge = pkce_pair()
    url = authorize_url(attacker_app.client_id, challenge, response_type="token")
    response = signed_in.get(url.replace("app.example.com", "evil.example.com"))
    assert response.status_code == 400
    assert "Location" not in response
    assert b"unsupported_response_type" in response.content


@pytest.mark.parametrize(
    "change",
    [{"scope": "profile admin"}, {"code_challenge": None}, {"code_challenge_method": "plain"}],
)
def test_anonymous_visitor_signs_in_before_any_error_is_redirected(client, attacker_app, change):
    """A deliberately invalid request (bad scope, no PKCE) must not bounce a visitor who has
    not even signed in to the client's site: sign in first (RFC 9700 §4.11.2)."""
    _, challenge = pkce_pair()
    url = authorize_url(attacker_app.client_id, challenge, **change)
    if change.get("code_challenge", "") is None:
        url = authorize_url(attacker_app.client_id, None)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert not response["Location"].startswith(REDIRECT_URI)


def test_signed_in_user_still_gets_the_error_at_the_client(signed_in, attacker_app):
    """RFC 6749 §4.1.2.1: once the pair is valid (and the user signed in), errors go back."""
    _, challenge = pkce_pair()
    response = signed_in.get(authorize_url(attacker_app.client_id, challenge, scope="profile admin"))
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    assert query_of(response["Location"])["error"] == "invalid_scope"


def test_silent_request_still_answers_login_required(client, attacker_app):
    _, challenge = pkce_pair()
    response = client.get(authorize_url(attacker_app.client_id, challenge, prompt="none"))
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "login_required"


# --- an invalid request from a verified client and redirect URI (RFC 6749 §4.1.2.1) -----------
# A missing response_type or a repeated parameter is invalid_request. Once client_id and
# redirect_uri are validated (each named once, the URI registered), it goes back to the client
# after sign-in, as unsupported_response_type does; before, it was the error page.


def _without(url: str, name: str) -> str:
    path, query = url.split("?", 1)
    return path + "?" + "&".join(pair for pair in query.split("&") if not pair.startswith(name + "="))


def _invalid_request_urls(client_id: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    url = authorize_url(client_id, challenge, nonce="n-1")
    return {
        "response_type missing": _without(url, "response_type"),
        "response_type empty": url.replace("response_type=code", "response_type="),
        "scope repeated": url + "&scope=email",
        "response_type repeated": url + "&response_type=code",
        "nonce repeated": url + "&nonce=n-2",
        "code_challenge repeated": url + "&code_challenge=" + challenge,
    }


@pytest.mark.parametrize(
    "case",
    ["response_type missing", "response_type empty", "scope repeated", "response_type repeated",
     "nonce repeated", "code_challenge repeated"],
)  # fmt: skip
def test_an_invalid_request_goes_to_a_verified_client_after_sign_in(client, signed_in, attacker_app, case):
    url = _invalid_request_urls(attacker_app.client_id)[case]

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=")

    for response in (signed_in.get(url), signed_in.post(url, {"confirm": "yes"})):
        assert response.status_code == 302, (case, response.content[:300])
        assert response["Location"].startswith(REDIRECT_URI + "?")
        params = query_of(response["Location"])
        assert params["error"] == "invalid_request"
        assert params["state"] == "xyz"
        assert params["iss"] == "http://testserver"
    assert not AuthorizationCode.objects.exists()


def test_a_repeated_state_goes_back_without_a_state(signed_in, attacker_app):
    """Which of two states the client meant is unknown: neither is echoed."""
    _, challenge = pkce_pair()
    response = signed_in.get(authorize_url(attacker_app.client_id, challenge) + "&state=other")
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert params["error"] == "invalid_request"
    assert "state" not in params


@pytest.mark.parametrize(
    "change",
    [
        "&client_id={client_id}",  # the client named twice: which one asks is unknown
        "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback",  # the URI named twice
        "&redirect_uri=https%3A%2F%2Fevil.example.com%2Fcallback",
    ],
)
def test_an_invalid_request_whose_client_or_uri_is_unverified_is_shown(signed_in, attacker_app, change):
    _, challenge = pkce_pair()
    url = authorize_url(attacker_app.client_id, challenge) + change.format(client_id=attacker_app.client_id)
    response = signed_in.get(url)
    assert response.status_code == 400
    assert "Location" not in response
    assert b"invalid_request" in response.content


def test_a_missing_response_type_for_an_unregistered_uri_or_unknown_client_is_shown(signed_in, attacker_app):
    _, challenge = pkce_pair()
    url = _without(authorize_url(attacker_app.client_id, challenge), "response_type")
    for bad in (
        url.replace("app.example.com", "evil.example.com"),
        url.replace(attacker_app.client_id, "unknown-client"),
    ):
        response = signed_in.get(bad)
        assert response.status_code == 400
        assert "Location" not in response


@pytest.mark.parametrize("case", ["response_type missing", "scope repeated", "response_type token"])
@pytest.mark.parametrize("mode", ["fragment", "form_post"])
def test_an_error_for_a_client_that_reads_elsewhere_is_shown(signed_in, attacker_app, case, mode):
    """A client that asked for another response_mode reads its answer there, so an error in the
    query reaches nobody: the page, as the grant answers any request naming that mode."""
    _, challenge = pkce_pair()
    urls = _invalid_request_urls(attacker_app.client_id)
    urls["response_type token"] = authorize_url(attacker_app.client_id, challenge, response_type="token")
    response = signed_in.get(urls[case] + "&response_mode=" + mode)
    assert response.status_code == 400
    assert "Location" not in response


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", ["response_type missing", "scope repeated"])
def test_over_http_a_visitor_signs_in_and_then_the_client_gets_invalid_request(
    live_server, end_user, make_client, case
):
    """The whole walk as a browser makes it: the sign-in page first (nothing sent to the client
    before), the sign-in form with its CSRF token, then invalid_request at the client's
    registered redirect URI with state and iss, and no code."""
    import requests

    app, _secret = make_client("Registered by anyone", source="dcr")
    url = live_server.url + _invalid_request_urls(app.client_id)[case]
    visitor = requests.Session()
    first = visitor.get(url, allow_redirects=False, timeout=10)
    assert first.status_code == 302 and first.headers["Location"].startswith("/accounts/login/?next=")
    sign_in_page = live_server.url + first.headers["Location"]
    assert visitor.get(sign_in_page, timeout=10).status_code == 200
    signed_in = visitor.post(
        sign_in_page,
        data={
            "username": "alice",
            "password": "alice-password-123",
            "csrfmiddlewaretoken": visitor.cookies["csrftoken"],
        },
        headers={"Referer": sign_in_page},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"].startswith("/oauth/authorize?")
    answer = visitor.get(live_server.url + signed_in.headers["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(REDIRECT_URI + "?")
    params = query_of(answer.headers["Location"])
    assert (params["error"], params["state"], params["iss"]) == ("invalid_request", "xyz", live_server.url)
    assert "code" not in params
