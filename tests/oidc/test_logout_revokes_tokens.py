"""Ending a browser session revokes the tokens issued in it (OAUTH2_LOGOUT_REVOKES_TOKENS, on by
default, as Keycloak and others do): the code flow's tokens with `openid` and their refreshes,
in one UPDATE inside the logout's transaction, reported by the logout's one audit event. Tokens
of another browser session, of the client credentials grant, or of a plain OAuth code are not
session-bound and stay."""

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from oauth_console.audit.models import AuditEvent
from server import services
from server.actors import Actor
from server.models import Token
from tests.server.helpers import basic_auth, form

from .conftest import sign_in_and_get_tokens

pytestmark = pytest.mark.django_db

BYE = "https://app.example.com/logged-out"


@pytest.fixture
def rp(make_client):
    client, secret = make_client("RP", scope=["openid", "profile", "email", "read"])
    services.update_client(client, actor=Actor.system("tests"), post_logout_redirect_uris=[BYE])
    client.refresh_from_db()
    return client, secret


def refresh(client, secret, refresh_token):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return form(HttpClient(), "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))


def client_credentials(client, secret):
    data = {"grant_type": "client_credentials", "scope": "read"}
    return form(HttpClient(), "/oauth/token", data, HTTP_AUTHORIZATION=basic_auth(client.client_id, secret))


def end_session(browser, id_token):
    response = browser.get("/oauth/logout", {"id_token_hint": id_token, "post_logout_redirect_uri": BYE})
    assert response.status_code == 302, response.content[:300]


def test_rp_initiated_logout_revokes_the_sessions_tokens_and_their_refreshes(browser, rp, user):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    rotated = refresh(client, secret, tokens["refresh_token"])
    assert rotated.status_code == 200
    other_browser = HttpClient()
    other_browser.force_login(user)
    elsewhere = sign_in_and_get_tokens(other_browser, client, secret)
    assert client_credentials(client, secret).status_code == 200
    plain_oauth = sign_in_and_get_tokens(browser, client, secret, scope="read")
    assert Token.objects.filter(sid="").count() == 2, "client credentials, plain OAuth: no session"

    with CaptureQueriesContext(connection) as queries:
        end_session(browser, tokens["id_token"])
    revoking = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "revoked_at" in q["sql"]]
    assert len(revoking) == 1, revoking

    session_sid = Token.objects.order_by("pk").first().sid
    assert session_sid and Token.objects.filter(sid__gt="").exclude(sid=session_sid).count() == 1
    in_session = Token.objects.filter(sid=session_sid)
    assert in_session.count() == 2 and all(t.revoked_at for t in in_session)
    assert {t.revoked_reason for t in in_session} == {"signed out (OpenID Connect session ended)"}
    assert not Token.objects.exclude(sid=session_sid).filter(revoked_at__isnull=False).exists()
    assert refresh(client, secret, rotated.json()["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(client, secret, elsewhere["refresh_token"]).status_code == 200
    assert refresh(client, secret, plain_oauth["refresh_token"]).status_code == 200

    (event,) = AuditEvent.objects.filter(event_type__in=["user_logged_out", "tokens_revoked"])
    assert event.event_type == "user_logged_out" and event.detail["tokens_revoked"] == 2


def test_the_sites_own_sign_out_revokes_them_too(browser, rp):
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    assert browser.post("/accounts/logout/").status_code in (200, 302)
    assert Token.objects.get().revoked_at is not None
    introspected = form(
        HttpClient(),
        "/oauth/introspect",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert introspected.json() == {"active": False}
    assert AuditEvent.objects.get(event_type="user_logged_out").detail["tokens_revoked"] == 1


def test_a_deployment_can_keep_them(browser, rp, settings):
    settings.OAUTH2_LOGOUT_REVOKES_TOKENS = False
    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    end_session(browser, tokens["id_token"])
    assert Token.objects.get().revoked_at is None
    assert refresh(client, secret, tokens["refresh_token"]).status_code == 200
    assert AuditEvent.objects.get(event_type="user_logged_out").detail["tokens_revoked"] == 0


def test_a_refresh_that_read_its_token_before_the_logout_does_not_rotate_it(browser, rp, user, monkeypatch):
    """The race a logout meets: a refresh request found its refresh token active, then the
    logout revoked it, then the refresh went on to rotate it. It must fail (invalid_grant),
    issue nothing, and not be reported as a reuse (nobody replayed anything)."""
    from server.bindings import grants as bound_grants

    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    real_rotate = bound_grants.services.rotate_refresh_token

    def logout_first(token):
        end_session(browser, tokens["id_token"])  # between the read and the rotation
        return real_rotate(token)

    monkeypatch.setattr(bound_grants.services, "rotate_refresh_token", logout_first)
    answer = refresh(client, secret, tokens["refresh_token"])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 1, "nothing issued"
    # (The logout ran inside the refresh's transaction here, one connection; the refusal rolled
    # it back with the refresh. A real logout is a request of its own, and stays.)
    assert not AuditEvent.objects.filter(event_type="refresh_token_reused").exists()


def test_a_code_of_the_session_not_yet_redeemed_is_expired_by_the_logout(browser, rp):
    """A code the RP got just before the person signed out would otherwise mint tokens for a
    session that has ended."""
    from tests.server.helpers import query_of

    from .conftest import authorize, token_request

    client, secret = rp
    tokens = sign_in_and_get_tokens(browser, client, secret)
    response, verifier = authorize(browser, client)
    code = query_of(response["Location"])["code"]
    end_session(browser, tokens["id_token"])
    answer = token_request(client, secret, code, verifier)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 1
    detail = AuditEvent.objects.get(event_type="user_logged_out").detail
    assert (detail["tokens_revoked"], detail["codes_expired"]) == (1, 1)
    assert not AuditEvent.objects.filter(event_type="authorization_code_replayed").exists()
