"""OpenID Connect RP-Initiated Logout 1.0 at /oauth/logout, as the OpenID Foundation's
RP-Initiated Logout OP plan checks it (the module names are the test names), plus what a person
sees: a confirmation page when the request does not prove who asks.

The relying party's view: it signs in (code flow, ID token verified in conftest), then sends the
browser to the discovery document's `end_session_endpoint`.
"""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client as HttpClient
from django.utils import timezone

from oauth_console.audit.models import AuditEvent
from server import services
from server.actors import Actor
from tests.server.helpers import query_of

from .conftest import sign_in_and_get_tokens, verify_id_token

pytestmark = pytest.mark.django_db

LOGOUT = "/oauth/logout"
BYE = "https://app.example.com/logged-out"


@pytest.fixture
def rp(make_client):
    client, secret = make_client("Relying party", scope=["openid", "profile", "email"])
    services.update_client(client, actor=Actor.system("tests"), post_logout_redirect_uris=[BYE])
    client.refresh_from_db()
    return client, secret


@pytest.fixture
def id_token(browser, rp):
    client, secret = rp
    return sign_in_and_get_tokens(browser, client, secret)["id_token"]


def signed_in(http) -> bool:
    return "_auth_user_id" in http.session


def logout_url(**params) -> str:
    return LOGOUT + "?" + urlencode({k: v for k, v in params.items() if v is not None})


def test_discovery_names_the_end_session_endpoint_and_the_logout_features():
    document = HttpClient().get("/.well-known/openid-configuration").json()
    assert document["end_session_endpoint"] == "http://testserver/oauth/logout"
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True
    assert document["frontchannel_logout_supported"] is True
    assert document["frontchannel_logout_session_supported"] is True


def test_the_id_token_carries_the_op_session_id(browser, rp, id_token):
    claims = verify_id_token(id_token, rp[0])
    assert isinstance(claims["sid"], str) and len(claims["sid"]) >= 32
    # The same browser session, another sign-in to the same client: the same sid.
    again = sign_in_and_get_tokens(browser, rp[0], rp[1])["id_token"]
    assert verify_id_token(again, rp[0])["sid"] == claims["sid"]


def test_oidcc_rp_initiated_logout(browser, rp, id_token):
    response = browser.get(logout_url(id_token_hint=id_token, post_logout_redirect_uri=BYE, state="s-42"))
    assert response.status_code == 302
    assert response["Location"].startswith(BYE + "?")
    assert query_of(response["Location"]) == {"state": "s-42"}
    assert not signed_in(browser)
    event = AuditEvent.objects.get(event_type="user_logged_out")
    assert event.client_id == rp[0].client_id
    assert event.detail["clients"] == [rp[0].client_id] and event.detail["notified"] == []


def test_oidcc_rp_initiated_logout_by_post(browser, rp, id_token):
    """§2: the OP supports GET and POST (a form POST from the RP's page carries no CSRF token)."""
    csrf_checking = HttpClient(enforce_csrf_checks=True)
    csrf_checking.cookies = browser.cookies
    response = csrf_checking.post(LOGOUT, {"id_token_hint": id_token, "post_logout_redirect_uri": BYE})
    assert response.status_code == 302 and response["Location"] == BYE
    assert not signed_in(browser)


def test_oidcc_rp_initiated_logout_no_state(browser, rp, id_token):
    response = browser.get(logout_url(id_token_hint=id_token, post_logout_redirect_uri=BYE))
    assert response.status_code == 302 and response["Location"] == BYE


def test_oidcc_rp_initiated_logout_no_post_logout_redirect_uri(browser, rp, id_token):
    response = browser.get(logout_url(id_token_hint=id_token, state="s-1"))
    assert response.status_code == 200
    assert b'id="logout-result"' in response.content
    assert not signed_in(browser)


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example.com/elsewhere",
        BYE + "?extra=1",  # oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri
        BYE + "/",
        "https://APP.example.com/logged-out",
    ],
)
def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(browser, rp, id_token, uri):
    """§3: never redirected to a URI the client did not register exactly; an error page, and
    the person stays signed in (nothing happened)."""
    response = browser.get(logout_url(id_token_hint=id_token, post_logout_redirect_uri=uri, state="s"))
    assert response.status_code == 400
    assert "Location" not in response
    assert b"not registered" in response.content
    assert signed_in(browser)


def test_oidcc_rp_initiated_logout_modified_id_token_hint(browser, rp, id_token):
    header, payload, signature = id_token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    response = browser.get(logout_url(id_token_hint=forged, post_logout_redirect_uri=BYE, state="s"))
    assert response.status_code == 400 and "Location" not in response
    assert b"not an ID token issued by this server" in response.content
    assert signed_in(browser)


def test_oidcc_rp_initiated_logout_bad_id_token_hint(browser, rp):
    response = browser.get(logout_url(id_token_hint="not-a-jwt", post_logout_redirect_uri=BYE))
    assert response.status_code == 400 and signed_in(browser)


def test_an_expired_id_token_hint_is_accepted(browser, rp, id_token):
    """§2: the OP SHOULD accept an ID token whose exp has passed."""
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        response = browser.get(logout_url(id_token_hint=id_token, post_logout_redirect_uri=BYE, state="late"))
    assert response.status_code == 302 and query_of(response["Location"]) == {"state": "late"}
    assert not signed_in(browser)


def test_a_client_id_that_is_not_the_hints_audience_is_refused(browser, rp, id_token, make_client):
    other, _ = make_client("Other RP", scope=["openid"])
    response = browser.get(logout_url(id_token_hint=id_token, client_id=other.client_id))
    assert response.status_code == 400 and signed_in(browser)


def test_an_unknown_client_id_is_refused(browser):
    response = browser.get(logout_url(client_id="no-such-client", post_logout_redirect_uri=BYE))
    assert response.status_code == 400 and signed_in(browser)


def test_oidcc_rp_initiated_logout_no_id_token_hint(browser, rp):
    """No hint: a confirmation page (§6); its POST, with the page's CSRF token, signs out and
    then sends the browser to the URI the named client registered, with state."""
    person = HttpClient(enforce_csrf_checks=True)
    person.cookies = browser.cookies
    url = logout_url(client_id=rp[0].client_id, post_logout_redirect_uri=BYE, state="s-9")
    page = person.get(url)
    assert page.status_code == 200 and b'id="logout-question"' in page.content
    assert b"Relying party" in page.content
    assert signed_in(browser)
    token = page.context["csrf_token"]
    fields = {"client_id": rp[0].client_id, "post_logout_redirect_uri": BYE, "state": "s-9"}
    answer = person.post(LOGOUT, {**fields, "confirm_logout": "yes", "csrfmiddlewaretoken": str(token)})
    assert answer.status_code == 302 and query_of(answer["Location"]) == {"state": "s-9"}
    assert not signed_in(browser)


def test_a_confirmation_without_its_csrf_token_signs_nobody_out(browser, rp):
    forger = HttpClient(enforce_csrf_checks=True)
    forger.cookies = browser.cookies
    response = forger.post(LOGOUT, {"client_id": rp[0].client_id, "confirm_logout": "yes"})
    assert response.status_code == 403
    assert signed_in(browser)


@pytest.mark.parametrize("value", ["no", "0", "", "YES"])
def test_only_the_sign_out_buttons_value_confirms(browser, rp, value):
    """The confirmation's button sends confirm_logout=yes; any other value is no confirmation
    (the mere presence of the field was): the person is asked again, not signed out."""
    person = HttpClient(enforce_csrf_checks=True)
    person.cookies = browser.cookies
    page = person.get(logout_url(client_id=rp[0].client_id))
    fields = {"client_id": rp[0].client_id, "csrfmiddlewaretoken": str(page.context["csrf_token"])}
    answer = person.post(LOGOUT, {**fields, "confirm_logout": value})
    assert answer.status_code == 200 and b'id="logout-question"' in answer.content
    assert signed_in(browser)


def test_oidcc_rp_initiated_logout_no_params(browser):
    """Nothing at all: signed-in people are asked; nobody is signed out by a bare link."""
    page = browser.get(LOGOUT)
    assert page.status_code == 200 and b'id="logout-question"' in page.content
    assert signed_in(browser)


def test_a_hint_for_another_user_asks_the_signed_in_person(rp, id_token, django_user_model):
    """The hint names alice; bob is signed in in this browser: bob is asked, not signed out."""
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")
    bobs_browser = HttpClient()
    bobs_browser.force_login(bob)
    page = bobs_browser.get(logout_url(id_token_hint=id_token, post_logout_redirect_uri=BYE, state="s"))
    assert page.status_code == 200 and b'id="logout-question"' in page.content
    assert b"bob" in page.content
    assert signed_in(bobs_browser)


def test_nobody_signed_in_is_sent_back(rp, id_token):
    response = HttpClient().get(logout_url(id_token_hint=id_token, post_logout_redirect_uri=BYE, state="s"))
    assert response.status_code == 302 and query_of(response["Location"]) == {"state": "s"}
    assert not AuditEvent.objects.filter(event_type="user_logged_out").exists()


def test_an_overlong_state_is_refused_not_echoed(browser, rp, id_token):
    response = browser.get(logout_url(id_token_hint=id_token, post_logout_redirect_uri=BYE, state="x" * 3000))
    assert response.status_code == 400 and "Location" not in response
    assert signed_in(browser)


def test_the_sites_own_sign_out_ends_the_op_session_too(browser, rp, id_token):
    """Signing out through /accounts/logout/ (not the end-session endpoint) also ends the OP
    session: the same user_logged_out, with the session's clients."""
    response = browser.post("/accounts/logout/")
    assert response.status_code in (200, 302) and not signed_in(browser)
    event = AuditEvent.objects.get(event_type="user_logged_out")
    assert event.client_id == "" and event.detail["clients"] == [rp[0].client_id]


def form_action(response) -> str:
    policy = response["Content-Security-Policy"]
    return next(part.strip() for part in policy.split(";") if part.strip().startswith("form-action"))


def test_the_confirmation_may_post_to_the_registered_return_url_only(browser, rp):
    """Chromium applies form-action to the redirect that answers the confirmation's POST: with
    'self' alone, "Sign out" did nothing when the app named its registered return URL (the
    browser walk found it, tests/browser/test_logout_page.py). The page allows that URL's origin,
    and nothing else: not for an unregistered URL (an error page), not without one."""
    client, _ = rp
    named = browser.get(logout_url(client_id=client.client_id, post_logout_redirect_uri=BYE, state="s"))
    assert named.status_code == 200 and b'id="logout-question"' in named.content
    assert form_action(named) == "form-action 'self' https://app.example.com"
    plain = browser.get(logout_url(client_id=client.client_id))
    assert plain.status_code == 200 and form_action(plain) == "form-action 'self'"
    assert form_action(browser.get(LOGOUT)) == "form-action 'self'"


def test_an_id_token_from_an_earlier_session_asks_before_signing_out(rp, user):
    """A hint proves who asks only for the session it was issued in (its `sid`): an ID token of an
    earlier sign-in, which its RP (any app the person ever used, or whoever that RP leaked it
    to) keeps for ever, signed the person's later sessions out with a bare link, no question
    asked, revoking that session's tokens and logging every app of it out. Now the person is
    asked, as for a request without a hint; the hint of the current session still signs out."""
    client, secret = rp
    browser = HttpClient()
    browser.force_login(user)
    old = sign_in_and_get_tokens(browser, client, secret)["id_token"]
    assert browser.post("/accounts/logout/").status_code in (200, 302)
    browser.force_login(user)
    current = sign_in_and_get_tokens(browser, client, secret)["id_token"]
    assert verify_id_token(old, client)["sid"] != verify_id_token(current, client)["sid"]

    page = browser.get(logout_url(id_token_hint=old, post_logout_redirect_uri=BYE, state="s"))
    assert page.status_code == 200 and b'id="logout-question"' in page.content
    assert signed_in(browser)

    response = browser.get(logout_url(id_token_hint=current, post_logout_redirect_uri=BYE, state="s"))
    assert response.status_code == 302 and query_of(response["Location"]) == {"state": "s"}
    assert not signed_in(browser)
