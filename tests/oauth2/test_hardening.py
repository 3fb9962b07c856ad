"""Bad input at every endpoint of the package: always the RFC's JSON error, never a 500 or HTML."""

from __future__ import annotations

import base64
import re

import pytest

from server.oauth2 import client_authentication_failed
from server.oauth2.errors import clean_error_text
from tests.oauth2.exampleapp.models import AuthorizationCode, Token
from tests.oauth2.flow import (
    CLIENT_SECRET,
    REDIRECT_URI,
    authorize_params,
    basic,
    exchange,
    get_code,
    url_with,
)

pytestmark = pytest.mark.urls("tests.oauth2.exampleapp.urls")

FORM = "application/x-www-form-urlencoded"
# RFC 6749 §5.2: error_description characters.
DESCRIPTION = re.compile(r"^[\x20\x21\x23-\x5B\x5D-\x7E]*$")


def assert_json_error(response, status, error):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == error, body
    assert DESCRIPTION.match(body.get("error_description", "")), body
    return body


def assert_token_error(response, status, error):
    body = assert_json_error(response, status, error)
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    return body


def raw_token_post(api, body: bytes | str, content_type=FORM, **extra):
    return api.generic("POST", "/token/", body, content_type=content_type, **extra)


# --- token endpoint: transport and parsing ----------------------------------------------------


def test_token_endpoint_requires_post(api, oauth_client):
    response = api.get("/token/?grant_type=client_credentials", **basic())
    assert_token_error(response, 405, "invalid_request")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "multipart/form-data; boundary=xyz", ""],
)
def test_token_endpoint_requires_a_form_body(api, oauth_client, content_type):
    response = raw_token_post(api, '{"grant_type": "refresh_token"}', content_type=content_type, **basic())
    assert_token_error(response, 400, "invalid_request")


def test_broken_multipart_is_invalid_request(api, oauth_client):
    response = raw_token_post(api, b"--xyz\r\nbroken", content_type="multipart/form-data; boundary=xyz")
    assert_token_error(response, 400, "invalid_request")


@pytest.mark.parametrize("charset", ["latin-1", "no-such-charset", "utf-16"])
def test_non_utf8_charsets_are_refused(api, oauth_client, charset):
    response = raw_token_post(
        api, "grant_type=refresh_token&refresh_token=x", content_type=f"{FORM}; charset={charset}", **basic()
    )
    assert_token_error(response, 400, "invalid_request")


def test_utf8_charset_is_accepted(api, oauth_client):
    response = raw_token_post(
        api, "grant_type=refresh_token&refresh_token=x", content_type=f"{FORM}; charset=UTF-8", **basic()
    )
    assert_token_error(response, 400, "invalid_grant")


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=refresh_token&refresh_token=\xff\xfe",  # raw bytes that are not UTF-8
        b"grant_type=refresh_token&refresh_token=%ff%fe",  # percent-encoded non-UTF-8
        b"grant_type=refresh_token&refresh_token=a%00b",  # NUL
        b"grant_type=refresh_token&refresh_token=a%0D%0Ab",  # CR LF
    ],
)
def test_undecodable_or_control_characters_are_invalid_request(api, oauth_client, body):
    response = raw_token_post(api, body, **basic())
    assert_token_error(response, 400, "invalid_request")


def test_huge_body_is_invalid_request(api, oauth_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = raw_token_post(api, "grant_type=refresh_token&refresh_token=" + "a" * 5000, **basic())
    assert_token_error(response, 400, "invalid_request")


def test_too_many_fields_is_invalid_request(api, oauth_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    body = "&".join(f"f{i}=v" for i in range(10))
    assert_token_error(raw_token_post(api, body, **basic()), 400, "invalid_request")


def test_repeated_parameter_is_invalid_request(web, api, oauth_client):
    code, verifier = get_code(web)
    body = (
        f"grant_type=authorization_code&code={code}&code=other"
        f"&redirect_uri={REDIRECT_URI}&code_verifier={verifier}"
    )
    body_json = assert_token_error(raw_token_post(api, body, **basic()), 400, "invalid_request")
    assert "code" in body_json["error_description"]
    assert Token.objects.count() == 0
    assert AuthorizationCode.objects.count() == 1  # nothing consumed


def test_empty_values_count_as_absent(api, oauth_client):
    body = assert_token_error(raw_token_post(api, "grant_type=", **basic()), 400, "invalid_request")
    assert "grant_type" in body["error_description"]


def test_client_credentials_in_the_query_are_refused(api, oauth_client):
    response = api.generic(
        "POST",
        f"/token/?client_id=client-one&client_secret={CLIENT_SECRET}",
        "grant_type=refresh_token&refresh_token=x",
        content_type=FORM,
    )
    assert_token_error(response, 400, "invalid_request")


def test_unknown_grant_type(api, oauth_client):
    body = assert_token_error(
        raw_token_post(api, "grant_type=password&username=a&password=b", **basic()),
        400,
        "unsupported_grant_type",
    )
    assert "password" in body["error_description"]


def test_hostile_grant_type_is_echoed_only_in_allowed_characters(api, oauth_client):
    body = "grant_type=%22%5C%C3%A9%E2%80%A8" + "x" * 500
    assert_token_error(raw_token_post(api, body, **basic()), 400, "unsupported_grant_type")


# --- client authentication --------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
        "Basic " + base64.b64encode(b"client-one:%ff").decode(),
        "Basic " + base64.b64encode(b":secret").decode(),
        "Basic ",
    ],
)
def test_broken_basic_credentials_are_401_with_a_basic_challenge(api, oauth_client, header):
    failures = []

    def receiver(sender, **kwargs):
        failures.append(kwargs)

    client_authentication_failed.connect(receiver)
    try:
        response = raw_token_post(api, "grant_type=refresh_token&refresh_token=x", HTTP_AUTHORIZATION=header)
    finally:
        client_authentication_failed.disconnect(receiver)
    assert_token_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].startswith('Basic realm="http://testserver", error="invalid_client"')
    assert failures and failures[0]["method"] == "client_secret_basic"


def test_wrong_secret_is_401_with_a_basic_challenge(web, api, oauth_client):
    code, verifier = get_code(web)
    response = exchange(api, code, verifier, headers=basic("client-one", "wrong"))
    assert_token_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].startswith('Basic realm="http://testserver"')
    assert Token.objects.count() == 0


def test_two_authentication_methods_at_once_are_refused(web, api, oauth_client):
    code, verifier = get_code(web)
    response = exchange(api, code, verifier, client_secret=CLIENT_SECRET)
    assert_token_error(response, 400, "invalid_request")
    assert Token.objects.count() == 0


def test_confidential_client_cannot_skip_its_secret(web, api, oauth_client):
    code, verifier = get_code(web)
    response = exchange(api, code, verifier, headers={"HTTP_X": "1"}, client_id="client-one")
    assert_token_error(response, 401, "invalid_client")


def test_insecure_transport_is_refused_when_required(api, oauth_client, monkeypatch, settings):
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    settings.ALLOWED_HOSTS = ["auth.example.com", "testserver"]
    host = {"HTTP_HOST": "auth.example.com"}
    response = raw_token_post(api, "grant_type=refresh_token&refresh_token=x", **host, **basic())
    assert_token_error(response, 400, "insecure_transport")
    secure = raw_token_post(api, "grant_type=refresh_token&refresh_token=x", secure=True, **host, **basic())
    assert_token_error(secure, 400, "invalid_grant")
    # Django's test client (http://testserver) is let through, as loopback is.
    test_client = raw_token_post(api, "grant_type=refresh_token&refresh_token=x", **basic())
    assert_token_error(test_client, 400, "invalid_grant")


# --- authorization endpoint -------------------------------------------------------------------


def test_unknown_response_type_redirects_for_a_known_client(web, oauth_client):
    response = web.post(url_with("/authorize/", authorize_params(response_type="token")), {"confirm": "yes"})
    assert response.status_code == 302
    from tests.oauth2.flow import query_of

    query = query_of(response["Location"])
    assert query["error"] == "unsupported_response_type"
    assert query["iss"] == "http://testserver"
    assert query["state"] == "xyz-state"


def test_unknown_client_is_not_redirected(web, oauth_client):
    response = web.post(url_with("/authorize/", authorize_params(client_id="nobody")), {"confirm": "yes"})
    assert_json_error(response, 400, "invalid_client")
    assert (
        web.get(url_with("/authorize/", authorize_params(client_id="nobody"))).content
        == b"Error: invalid_client"
    )


def test_hostile_values_at_the_authorization_endpoint_never_500(web, oauth_client):
    # RFC 6749 §4.1.2.1: with a known client and its registered redirect URI the error goes back
    # to the client (302); with an unknown client or redirect URI it must not (400).
    for params, status in (
        (authorize_params(response_type='co"de\\é'), 302),
        (authorize_params(redirect_uri='https://evil.example/"\\é'), 400),
        (authorize_params(client_id='"é\\'), 400),
        (authorize_params(scope='"é\\'), 302),
    ):
        response = web.post(url_with("/authorize/", params), {"confirm": "yes"})
        assert response.status_code == status, (params, response.content)
        if response.status_code == 400:
            assert DESCRIPTION.match(response.json().get("error_description", ""))
        else:
            assert response["Location"].startswith(REDIRECT_URI)
        assert web.get(url_with("/authorize/", params)).status_code == 400
    assert AuthorizationCode.objects.count() == 0


def test_unregistered_redirect_uri_is_not_redirected(web, oauth_client):
    response = web.post(
        url_with("/authorize/", authorize_params(redirect_uri="https://evil.example/cb")), {"confirm": "yes"}
    )
    assert_json_error(response, 400, "invalid_request")


def test_repeated_parameter_at_the_authorization_endpoint(web, oauth_client):
    # RFC 6749 §4.1.2.1: invalid_request, redirected once client_id and redirect_uri are validated.
    from tests.oauth2.flow import query_of

    url = url_with("/authorize/", authorize_params()) + "&scope=write"
    assert web.get(url).content == b"Error: invalid_request"
    response = web.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    assert query_of(response["Location"])["error"] == "invalid_request"
    assert query_of(response["Location"])["state"] == "xyz-state"
    assert AuthorizationCode.objects.count() == 0


def test_repeated_client_id_or_redirect_uri_is_not_redirected(web, oauth_client):
    for name in ("client_id", "redirect_uri"):
        url = url_with("/authorize/", authorize_params()) + f"&{name}=" + authorize_params()[name]
        assert_json_error(web.post(url, {"confirm": "yes"}), 400, "invalid_request")
    assert AuthorizationCode.objects.count() == 0


def test_client_secret_in_the_authorization_url_is_refused(web, oauth_client):
    from tests.oauth2.flow import query_of

    url = url_with("/authorize/", authorize_params(client_secret=CLIENT_SECRET))
    response = web.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"
    assert CLIENT_SECRET not in response["Location"]
    assert AuthorizationCode.objects.count() == 0


def test_consent_may_be_posted_as_multipart(web, oauth_client):
    from tests.oauth2.flow import pkce_pair, query_of

    _verifier, challenge = pkce_pair()
    url = url_with("/authorize/", authorize_params(code_challenge=challenge, code_challenge_method="S256"))
    from django.test.client import MULTIPART_CONTENT

    response = web.post(url, {"confirm": "yes"}, content_type=MULTIPART_CONTENT)
    assert response.status_code == 302
    assert "code" in query_of(response["Location"])


def test_unsupported_methods_at_the_authorization_endpoint(web, oauth_client):
    response = web.put(url_with("/authorize/", authorize_params()))
    assert_json_error(response, 405, "invalid_request")


# --- the description filter -------------------------------------------------------------------


def test_clean_error_text_keeps_only_allowed_characters():
    cleaned = clean_error_text('a"b\\c\r\nd\té\x00' + "z" * 400)
    assert DESCRIPTION.match(cleaned)
    assert cleaned.startswith("a'b/c  d ??")
    assert len(cleaned) == 300 and cleaned.endswith("...")
