"""Consent at the authorization endpoint: the scope a user sees is the scope a token gets.

The effective scope of a request is resolved once (the requested scopes, or the configured
default scopes when none are named) and that one value drives the remembered-consent check,
the consent page, the stored consent, the code and the token (issue 11, item 1).
"""

import html
import re

import pytest
from django.test import Client as HttpClient

from server import services
from server.actors import Actor
from server.models import AuthorizationCode, Client, Consent, Token
from tests.ids import plain_id
from tests.server.helpers import (
    REDIRECT_URI,
    authorize_url,
    basic_auth,
    exchange_code,
    form,
    get_code,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.django_db

ALL_SCOPES = ["profile", "email", "read", "write"]


@pytest.fixture
def wide_app(make_client):
    """Client B of the report: allowed `profile email read write`."""
    return make_client("Wide app", scope=ALL_SCOPES)


@pytest.fixture
def browser(client, end_user):
    client.force_login(end_user)
    return client


def no_scope_url(client_id: str, challenge: str, **extra) -> str:
    url = authorize_url(client_id, challenge, **extra)
    return url.replace("&scope=profile", "").replace("scope=profile&", "")


def redeem(client_id: str, secret: str, code: str, verifier: str) -> dict:
    response = exchange_code(HttpClient(), client_id, secret, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


def test_no_scope_with_prompt_none_does_not_widen_an_earlier_consent(browser, wide_app, settings):
    """The report's repro: consent for `profile`, then no scope + prompt=none."""
    settings.OAUTH2_DEFAULT_SCOPES = ["profile"]
    app, secret = wide_app
    get_code(browser, app.client_id, scope="profile")

    verifier, challenge = pkce_pair()
    url = no_scope_url(app.client_id, challenge, prompt="none")
    assert "scope=" not in url
    response = browser.get(url)

    assert response.status_code == 302
    params = query_of(response["Location"])
    assert "code" in params, params
    tokens = redeem(app.client_id, secret, params["code"], verifier)
    assert tokens["scope"] == "profile"
    me = HttpClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert me.status_code == 200
    assert "email" not in me.json()["user"]
    assert Consent.objects.get().scope == "profile"


def test_no_scope_with_prompt_none_asks_when_the_default_is_not_yet_approved(browser, wide_app, settings):
    settings.OAUTH2_DEFAULT_SCOPES = ["profile", "email"]
    app, _secret = wide_app
    get_code(browser, app.client_id, scope="profile")

    _verifier, challenge = pkce_pair()
    response = browser.get(no_scope_url(app.client_id, challenge, prompt="none"))

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "consent_required"
    assert AuthorizationCode.objects.count() == 1  # only the first, approved one
    assert Consent.objects.get().scope == "profile"


def test_first_no_scope_consent_page_shows_exactly_what_the_token_gets(browser, wide_app, settings):
    settings.OAUTH2_DEFAULT_SCOPES = ["profile", "email"]
    app, secret = wide_app
    verifier, challenge = pkce_pair()
    url = no_scope_url(app.client_id, challenge)

    page = browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert [name for name, _ in page.context["scopes"]] == ["profile", "email"]
    assert "See your user name and basic profile" in html
    assert "See your email address" in html
    assert "Read your data" not in html
    assert "Create and change your data" not in html
    assert "No special permissions" not in html

    response = browser.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    tokens = redeem(app.client_id, secret, query_of(response["Location"])["code"], verifier)
    assert tokens["scope"] == "profile email"
    assert Consent.objects.get().scope == tokens["scope"]
    assert Token.objects.get().scope == tokens["scope"]


def test_the_default_never_exceeds_what_the_client_may_have(browser, make_client, settings):
    settings.OAUTH2_DEFAULT_SCOPES = ["profile", "email"]
    app, secret = make_client("Narrow app", scope=["profile", "read"])
    code, verifier = get_code_without_scope(browser, app.client_id)
    assert redeem(app.client_id, secret, code, verifier)["scope"] == "profile"


def test_openid_is_never_a_default_scope(browser, make_client, settings):
    """An OpenID Connect request is one that names `openid` (OIDC Core §3.1.2.1). With `openid`
    among OAUTH2_DEFAULT_SCOPES, a request naming no scope became one after its scope was
    resolved, past the checks that read the scope as sent: `max_age=abc` was a 500, no
    redirect_uri was required, and the client got an ID token it never asked for."""
    settings.OAUTH2_DEFAULT_SCOPES = ["openid", "profile"]
    app, secret = make_client("OpenID app", scope=["openid", "profile", "email"])
    verifier, challenge = pkce_pair()
    url = no_scope_url(app.client_id, challenge, max_age="abc")
    page = browser.get(url)
    assert page.status_code == 200
    assert [name for name, _ in page.context["scopes"]] == ["profile"]
    response = browser.post(url, {"confirm": "yes"})
    tokens = redeem(app.client_id, secret, query_of(response["Location"])["code"], verifier)
    assert tokens["scope"] == "profile" and "id_token" not in tokens
    # Named, it is an OpenID request as always (and max_age is checked).
    _, challenge = pkce_pair()
    response = browser.get(authorize_url(app.client_id, challenge, scope="openid profile", max_age="abc"))
    assert query_of(response["Location"])["error"] == "invalid_request"


def get_code_without_scope(browser, client_id: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    url = no_scope_url(client_id, challenge)
    response = browser.get(url)
    if response.status_code == 200:
        response = browser.post(url, {"confirm": "yes"})
    assert response.status_code == 302, response.content[:300]
    return query_of(response["Location"])["code"], verifier


def test_no_scope_and_no_default_is_invalid_scope(browser, make_client, settings):
    settings.OAUTH2_DEFAULT_SCOPES = ["profile"]
    app, _secret = make_client("Data app", scope=["read", "write"])
    _verifier, challenge = pkce_pair()

    response = browser.get(no_scope_url(app.client_id, challenge))

    assert response.status_code == 302
    params = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT_URI + "?")
    assert params["error"] == "invalid_scope"
    assert "scope" in params["error_description"]
    assert not AuthorizationCode.objects.exists() and not Consent.objects.exists()


def test_client_credentials_without_scope_gets_the_default_not_everything(client, wide_app, settings):
    settings.OAUTH2_DEFAULT_SCOPES = ["read"]
    app, secret = wide_app
    response = form(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "read"


def test_client_credentials_without_scope_and_no_default_is_invalid_scope(client, make_client, settings):
    settings.OAUTH2_DEFAULT_SCOPES = ["profile"]
    app, secret = make_client("Batch job", scope=["read"])
    response = form(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not Token.objects.exists()


def test_recorded_consent_equals_the_token_scope_when_scopes_are_named(browser, wide_app):
    app, secret = wide_app
    code, verifier = get_code(browser, app.client_id, scope="email profile")
    tokens = redeem(app.client_id, secret, code, verifier)
    assert set(Consent.objects.get().scope.split()) == set(tokens["scope"].split()) == {"profile", "email"}


def test_refresh_of_a_token_without_scope_is_not_widened(client, wide_app, end_user):
    """A token stored with no scope (older code, narrowed client) must not refresh into the
    default scopes: an omitted scope on refresh means the original scope (RFC 6749 §6)."""
    app, secret = wide_app
    stored = services.store_token(
        {"access_token": "at-empty-scope", "refresh_token": "rt-empty-scope", "expires_in": 3600},
        client=app,
        user=end_user,
        grant_type="authorization_code",
    )
    assert stored.scope == ""
    response = form(
        client,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": "rt-empty-scope"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 200, response.content
    assert response.json().get("scope", "") == ""


# --- prompt=none and public clients (RFC 8252 §8.6) --------------------------------------------


NATIVE_REDIRECT = "http://127.0.0.1/callback"


@pytest.fixture
def native_app(make_client):
    client, _ = make_client(
        "Native app",
        client_type="public",
        redirect_uris=[NATIVE_REDIRECT, "com.example.app:/callback"],
        grant_types=["authorization_code", "refresh_token"],
    )
    return client


@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1:51234/callback", "com.example.app:/callback"])
def test_native_public_client_is_never_authorized_silently(browser, native_app, redirect_uri):
    """Any app can claim a loopback port or a private-use scheme: a remembered consent cannot
    tell the real app from an impersonator, so it is asked again; prompt=none gets
    consent_required (RFC 8252 §8.6)."""
    Consent.objects.create(user=_user(browser), client=native_app, scope="profile")
    _verifier, challenge = pkce_pair()
    url = authorize_url(native_app.client_id, challenge, redirect_uri=redirect_uri)

    assert browser.get(url).status_code == 200  # the page, not a silent code

    silent = browser.get(url + "&prompt=none")
    assert silent.status_code == 302
    assert query_of(silent["Location"])["error"] == "consent_required"
    assert not AuthorizationCode.objects.exists()


def test_public_web_client_with_https_redirect_keeps_remembered_consent(browser, make_client):
    """An https redirect URI is bound to its domain: the remembered consent still applies."""
    app, _ = make_client("SPA", client_type="public", grant_types=["authorization_code", "refresh_token"])
    get_code(browser, app.client_id)
    _verifier, challenge = pkce_pair()
    response = browser.get(authorize_url(app.client_id, challenge, prompt="none"))
    assert response.status_code == 302 and "code" in query_of(response["Location"])


def _user(browser):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=browser.session["_auth_user_id"])


def test_require_consent_stays_respected_with_prompt_none(browser, wide_app):
    app, _ = wide_app
    get_code(browser, app.client_id)
    services.update_client(app, actor=Actor.system("tests"), require_consent=True)
    _verifier, challenge = pkce_pair()
    response = browser.get(authorize_url(app.client_id, challenge, prompt="none"))
    assert query_of(response["Location"])["error"] == "consent_required"


def test_a_consent_given_to_one_app_does_not_approve_another(browser, make_client):
    """A remembered consent is the user's *for that client*: the same scope asked for by
    another app shows the consent page, and prompt=none answers consent_required."""
    first, _ = make_client("First app")
    second, _ = make_client("Second app")
    get_code(browser, first.client_id)
    _verifier, challenge = pkce_pair()
    page = browser.get(authorize_url(second.client_id, challenge))
    assert page.status_code == 200 and "Second app" in page.content.decode()
    silent = browser.get(authorize_url(second.client_id, challenge, prompt="none"))
    assert query_of(silent["Location"])["error"] == "consent_required"
    assert not AuthorizationCode.objects.filter(client=second).exists()
    assert list(Consent.objects.values_list("client", flat=True)) == [first.pk]


def test_another_persons_consent_does_not_approve_the_app_for_me(client, make_client, django_user_model):
    """A remembered consent is one person's: someone else signing in to the same app sees the
    consent page, and prompt=none answers consent_required."""
    app, _ = make_client("Shared app")
    first = django_user_model.objects.create_user("first", password="x-long-password-1")
    client.force_login(first)
    get_code(client, app.client_id)
    other = HttpClient()
    other.force_login(django_user_model.objects.create_user("other", password="x-long-password-1"))
    _verifier, challenge = pkce_pair()
    page = other.get(authorize_url(app.client_id, challenge))
    assert page.status_code == 200 and "Shared app" in page.content.decode()
    silent = other.get(authorize_url(app.client_id, challenge, prompt="none"))
    assert query_of(silent["Location"])["error"] == "consent_required"
    assert list(Consent.objects.values_list("user__username", flat=True)) == ["first"]


# --- the sign-in page names the app asking (issue 11 item 20) --------------------------------


def _sign_in_page(http, next_url: str):
    from urllib.parse import urlencode

    return http.get("/accounts/login/?" + urlencode({"next": next_url}))


def test_sign_in_page_reached_from_authorize_names_the_app(client, make_client):
    app, _ = make_client('Calendar <b>"Pro"</b>')
    _verifier, challenge = pkce_pair()
    response = client.get(authorize_url(app.client_id, challenge))
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Calendar &lt;b&gt;&quot;Pro&quot;&lt;/b&gt;" in html
    assert "<b>" not in html
    assert "wants you to sign in" in html


@pytest.mark.parametrize(
    "next_url",
    [
        "/oauth/authorize?client_id=no-such-client&response_type=code",
        "https://evil.example.com/oauth/authorize?client_id={id}",
        "//evil.example.com/oauth/authorize?client_id={id}",
        "/account/apps/?client_id={id}",
        "/oauth/authorize?response_type=code",
        "/oauth/authorize?client_id=" + "x" * 500,
    ],
)
def test_sign_in_page_names_no_app_it_cannot_vouch_for(client, make_client, next_url):
    app, _ = make_client("Calendar")
    page = _sign_in_page(client, next_url.format(id=app.client_id))
    assert page.status_code == 200
    assert "Calendar" not in page.content.decode()


def test_sign_in_page_does_not_name_a_disabled_app(client, make_client):
    app, _ = make_client("Calendar")
    services.set_client_status(app, Client.Status.DISABLED, actor=Actor.system("tests"), reason="x")
    page = _sign_in_page(client, f"/oauth/authorize?client_id={app.client_id}&response_type=code")
    assert "Calendar" not in page.content.decode()


def test_a_scope_asked_for_twice_is_shown_and_recorded_once(browser, wide_app):
    """The consent page, the consent and the code carry the scope the check resolved (each name
    once, in the order asked), not the raw parameter (see grants.xǁ_ScopeCheckǁ
    validate_requested_scope__mutmut_35 in tests/mutation_survivors.txt)."""
    app, _ = wide_app
    _, challenge = pkce_pair()
    page = browser.get(authorize_url(app.client_id, challenge, scope="email  profile email"))
    assert page.status_code == 200
    assert re.findall(r'font-monospace">([^<]+)</div>', page.content.decode()) == ["email", "profile"]
    response = browser.post(
        authorize_url(app.client_id, challenge, scope="email  profile email"), {"confirm": "yes"}
    )
    assert response.status_code == 302, response.content
    assert Consent.objects.get().scope == "email profile"
    assert AuthorizationCode.objects.get().scope == "email profile"


# --- only the Allow button's exact value approves ------------------------------------------------

# What the consent form's Allow button does not send: any other value of `confirm`, an empty one,
# a repeated one, or Allow and Deny together. Each was approval ("any non-empty confirm") before.
NOT_THE_ALLOW_BUTTON = [
    {"confirm": "no"},
    {"confirm": "0"},
    {"confirm": "false"},
    {"confirm": "off"},
    {"confirm": "YES"},
    {"confirm": "yes "},
    {"confirm": ""},
    {"confirm": "yes", "deny": "yes"},
]
# A form the strict request parser refuses before any decision (a repeated parameter, a control
# character: server.oauth2.requests): the person's error page, 400; never a code either.
MALFORMED_DECISIONS = [{"confirm": ["no", "yes"]}, {"confirm": ["yes", "yes"]}, {"confirm": "yes\x00"}]


@pytest.mark.parametrize("decision", NOT_THE_ALLOW_BUTTON, ids=plain_id)
def test_anything_but_the_allow_buttons_value_is_a_denial(browser, wide_app, decision):
    """RFC 6749 §4.1.2.1: the resource owner did not approve, so the answer is access_denied at
    the validated redirect URI, as for the Deny button: no code, no consent remembered."""
    app, _secret = wide_app
    _verifier, challenge = pkce_pair()
    url = authorize_url(app.client_id, challenge, state="st-1")
    assert browser.get(url).status_code == 200  # the consent page

    response = browser.post(url, decision)

    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    params = query_of(response["Location"])
    assert "code" not in params, params
    assert params["error"] == "access_denied" and params["state"] == "st-1"
    assert not AuthorizationCode.objects.exists()
    assert not Consent.objects.exists()
    assert not Token.objects.exists()


def test_the_allow_button_sends_the_value_that_approves(browser, wide_app):
    """The template renders the value the view checks (server.consent_page), so they cannot drift."""
    app, _secret = wide_app
    _verifier, challenge = pkce_pair()
    url = authorize_url(app.client_id, challenge)
    page = browser.get(url).content.decode()
    allow = re.search(r'<button type="submit" name="(\w+)" value="([^"]*)"[^>]*>Allow</button>', page)
    assert allow is not None
    response = browser.post(url, {allow[1]: allow[2]})
    assert "code" in query_of(response["Location"])
    assert AuthorizationCode.objects.count() == 1 and Consent.objects.count() == 1


@pytest.mark.parametrize("decision", MALFORMED_DECISIONS, ids=plain_id)
def test_a_malformed_decision_is_refused_and_approves_nothing(browser, wide_app, decision):
    app, _secret = wide_app
    _verifier, challenge = pkce_pair()
    url = authorize_url(app.client_id, challenge, state="st-1")
    response = browser.post(url, decision)
    if isinstance(decision["confirm"], str):
        # Unreadable (a control character): the page, nothing redirected.
        assert response.status_code == 400 and "Location" not in response
    else:
        # A repeated field of a request whose client and redirect URI are valid: invalid_request
        # back to the client (RFC 6749 §4.1.2.1, the parser's rule for every repeated parameter).
        assert response.status_code == 302 and response["Location"].startswith(REDIRECT_URI + "?")
        answer = query_of(response["Location"])
        assert answer["error"] == "invalid_request" and "code" not in answer
    assert not AuthorizationCode.objects.exists()
    assert not Consent.objects.exists()


def test_a_scope_without_a_description_is_shown_by_its_name():
    """An API's scope (RFC 8707) has no text of this server's: the page names it as it is,
    never as nothing or as "None"."""
    from server import policies
    from server.consent_page import scope_descriptions

    email = policies.configured_scopes()["email"]
    assert scope_descriptions("email orders:read") == [("email", email), ("orders:read", "orders:read")]


def test_the_page_names_who_decides_where_the_answer_goes_and_posts_the_decision_back(browser, wide_app):
    """What a person reads before deciding: who is signed in, the host the answer goes back to
    (not the app's claims about itself); and the form they answer with: back to this very
    request, CSRF-protected, Deny and Allow by the names `approved` reads."""
    app, _secret = wide_app
    _verifier, challenge = pkce_pair()
    url = authorize_url(app.client_id, challenge, scope="profile email")
    page = browser.get(url).content.decode()

    assert "Signed in as <strong>alice</strong>" in page
    assert re.search(r'id="redirect-host">app\.example\.com<', page)
    form_tag = re.search(r'<form method="post" action="([^"]*)" aria-labelledby="consent-heading"', page)
    assert form_tag and html.unescape(form_tag[1]) == url
    assert 'name="csrfmiddlewaretoken"' in page
    assert re.search(r'<button type="submit" name="deny" value="yes"[^>]*>Deny</button>', page)
    assert re.search(r'<button type="submit" name="confirm" value="yes"[^>]*>Allow</button>', page)


SCOPE_SYNTAX_RULE = (
    "A scope is printable ASCII without quotes or backslashes; scopes are separated by spaces "
    "(RFC 6749 section 3.3)."
)


@pytest.mark.parametrize("separator", ["\u00a0", "\u3000", "\u0085"], ids=plain_id)
def test_a_scope_split_by_a_unicode_space_is_invalid_scope_and_says_the_rule(wide_app, separator):
    """str.split() splits at these too: "read<NBSP>write" would have been two scopes."""
    app, secret = wide_app
    answer = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": f"read{separator}write"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_scope", "error_description": SCOPE_SYNTAX_RULE}
    assert not Token.objects.exists()


def test_a_plain_oauth_request_with_a_claims_parameter_asks_about_no_claims(browser, wide_app):
    """The claims parameter is OpenID Connect's (Core §5.5): without `openid` the page asks
    about the scopes alone, not the email claim the client could have."""
    app, _secret = wide_app
    _verifier, challenge = pkce_pair()
    claims = '{"userinfo": {"email": null}}'
    page = browser.get(authorize_url(app.client_id, challenge, scope="profile", claims=claims))
    assert page.status_code == 200
    assert page.context["claims"] == [] and "It also asks to see" not in page.content.decode()
