"""Every signal of server.oauth2.signals is sent at its moment with its keyword arguments."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from server.oauth2 import AuthorizationServer, signals
from server.oauth2.grants import AuthorizationCodeGrant, RefreshTokenGrant
from tests.oauth2.exampleapp import views
from tests.oauth2.exampleapp.models import AuthorizationCode, Token
from tests.oauth2.flow import basic, exchange, form, get_code, pkce_pair, query_of

pytestmark = pytest.mark.urls("tests.oauth2.exampleapp.urls")

NAMES = (
    "client_authenticated",
    "client_authentication_failed",
    "token_issued",
    "token_authenticated",
    "token_revoked",
    "authorization_code_replayed",
    "refresh_token_reused",
    "consent_granted",
    "consent_denied",
)


class Recorder:
    def __init__(self):
        self.events: list[tuple[str, object, dict]] = []

    def of(self, name):
        return [kwargs for event, _sender, kwargs in self.events if event == name]

    def names(self):
        return [event for event, _sender, _kwargs in self.events]

    def senders(self, name):
        return [sender for event, sender, _kwargs in self.events if event == name]


@pytest.fixture
def recorder():
    rec = Recorder()
    handlers = []
    for name in NAMES:

        def handler(sender, _name=name, **kwargs):
            kwargs.pop("signal", None)
            rec.events.append((_name, sender, kwargs))

        getattr(signals, name).connect(handler)
        handlers.append((name, handler))
    yield rec
    for name, handler in handlers:
        getattr(signals, name).disconnect(handler)


def test_code_flow_sends_consent_auth_and_issue_signals(web, api, oauth_client, user, recorder):
    code, verifier = get_code(web)
    (granted,) = recorder.of("consent_granted")
    assert granted["client"] == oauth_client and granted["user"] == user
    assert granted["scope"] == "profile read"
    assert granted["request"].path == "/authorize/"

    response = exchange(api, code, verifier)
    body = response.json()
    (authenticated,) = recorder.of("client_authenticated")
    assert authenticated["client"] == oauth_client
    assert authenticated["method"] == "client_secret_basic"
    assert authenticated["request"].path == "/token/"
    (issued,) = recorder.of("token_issued")
    assert issued["token"] == body
    assert issued["client"] == oauth_client and issued["user"] == user
    assert issued["grant_type"] == "authorization_code"
    assert issued["scope"] == "profile read"
    assert issued["request"].path == "/token/"
    assert issued["record"] is None  # the spec's save_token returns nothing
    assert recorder.names() == ["consent_granted", "client_authenticated", "token_issued"]


def test_deny_sends_consent_denied(web, oauth_client, user, recorder):
    _verifier, challenge = pkce_pair()
    from tests.oauth2.flow import authorize_params, url_with

    web.post(
        url_with("/authorize/", authorize_params(code_challenge=challenge, code_challenge_method="S256")), {}
    )
    (denied,) = recorder.of("consent_denied")
    assert denied["client"] == oauth_client and denied["user"] == user
    assert denied["scope"] == "profile read" and denied["request"].path == "/authorize/"
    assert recorder.of("consent_granted") == []


def test_failed_client_authentication(web, api, oauth_client, recorder):
    code, verifier = get_code(web)
    exchange(api, code, verifier, headers=basic("client-one", "wrong"))
    (failed,) = recorder.of("client_authentication_failed")
    assert failed["client_id"] == "client-one"
    assert failed["method"] == "client_secret_basic"
    assert failed["reason"]
    assert failed["request"].path == "/token/"
    assert recorder.of("client_authenticated") == []

    api.post(
        "/token/",
        {"grant_type": "refresh_token", "refresh_token": "x", "client_id": "ghost", "client_secret": "s"},
    )
    unknown = recorder.of("client_authentication_failed")[-1]
    assert unknown["client_id"] == "ghost" and unknown["method"] == "client_secret_post"


def test_replayed_code_is_reported(web, api, oauth_client, recorder):
    code, verifier = get_code(web)
    assert exchange(api, code, verifier).status_code == 200
    replay = exchange(api, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    (event,) = recorder.of("authorization_code_replayed")
    assert event["client"] == oauth_client
    assert event["code"].code == code
    assert event["request"].path == "/token/"
    # server.oauth2.signals: `sender` is the class that sent it.
    assert recorder.senders("authorization_code_replayed") == [AuthorizationCodeGrant]


def test_concurrently_redeemed_code_is_reported(user, oauth_client, recorder):
    class LosingGrant(AuthorizationCodeGrant):
        def delete_authorization_code(self, authorization_code):
            return False  # another request redeemed it first

    server = AuthorizationServer(views.query_client, views.save_token)
    server.register_grant(LosingGrant)
    verifier, challenge = pkce_pair()
    from tests.oauth2.flow import authorize_params, url_with

    request = RequestFactory().post(
        url_with("/authorize/", authorize_params(code_challenge=challenge, code_challenge_method="S256"))
    )
    code = query_of(server.create_authorization_response(request, user)["Location"])["code"]
    token_request = RequestFactory().post(
        "/token/",
        form(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": views.Client.objects.get().redirect_uris,
                "code_verifier": verifier,
            }
        ),
        content_type="application/x-www-form-urlencoded",
        **basic(),
    )
    response = server.create_token_response(token_request)
    assert response.status_code == 400
    assert Token.objects.count() == 0
    (event,) = recorder.of("authorization_code_replayed")
    assert event["code"] == AuthorizationCode.objects.get()
    assert event["client"] == oauth_client and event["request"] is token_request
    assert recorder.senders("authorization_code_replayed") == [LosingGrant]
    assert recorder.of("token_issued") == []


def test_reused_refresh_token_is_reported(web, api, oauth_client, recorder):
    code, verifier = get_code(web)
    first = exchange(api, code, verifier).json()
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert api.post("/token/", data, **basic()).status_code == 200
    issued = recorder.of("token_issued")
    assert [event["grant_type"] for event in issued] == ["authorization_code", "refresh_token"]
    assert api.post("/token/", data, **basic()).status_code == 400
    (event,) = recorder.of("refresh_token_reused")
    assert recorder.senders("refresh_token_reused") == [RefreshTokenGrant]
    assert event["client"] == oauth_client
    assert event["token"].access_token == first["access_token"]
    assert event["request"].path == "/token/"


def test_save_token_result_is_the_record(user, oauth_client, recorder):
    saved = []

    def save_token(token, request):
        saved.append((request.grant_type, request.client, request.user, request.credential))
        views.save_token(token, request)
        return "row-42"

    server = AuthorizationServer(views.query_client, save_token)
    server.register_grant(AuthorizationCodeGrant)
    verifier, challenge = pkce_pair()
    from tests.oauth2.flow import REDIRECT_URI, authorize_params, url_with

    request = RequestFactory().post(
        url_with("/authorize/", authorize_params(code_challenge=challenge, code_challenge_method="S256"))
    )
    code = query_of(server.create_authorization_response(request, user)["Location"])["code"]
    stored_code = AuthorizationCode.objects.get()
    token_request = RequestFactory().post(
        "/token/",
        form(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            }
        ),
        content_type="application/x-www-form-urlencoded",
        **basic(),
    )
    assert server.create_token_response(token_request).status_code == 200
    assert saved == [("authorization_code", oauth_client, user, stored_code)]
    assert recorder.of("token_issued")[0]["record"] == "row-42"


def test_example_receivers_log_this_apps_events(web, api, oauth_client, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="tests.oauth2.exampleapp.signals")
    code, verifier = get_code(web)
    tokens = exchange(api, code, verifier).json()
    api.get("/api/user/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    api.post("/revoke/", {"token": tokens["access_token"]}, **basic())
    token = Token.objects.get()
    messages = [record.getMessage() for record in caplog.records]
    assert "Client client-one authenticated" in messages
    assert f"Token for user {token.user.pk} authenticated" in messages
    assert f"Token {token.pk} revoked" in messages
    assert not any(tokens["access_token"] in message for message in messages)
