"""The protocol endpoints of our hardened server, driven through Django's test client."""

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from server import services
from server.actors import Actor
from server.models import AuthorizationCode, Client, Consent, Token
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


@pytest.fixture
def confidential(make_client):
    return make_client("Confidential app")


@pytest.fixture
def browser(client, end_user):
    client.force_login(end_user)
    return client


def client_credentials(http, client_id, secret, **data):
    return form(
        http,
        "/oauth/token",
        {"grant_type": "client_credentials", **data},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    )


# --- metadata ---------------------------------------------------------------------------------


def test_metadata_lists_every_endpoint_and_capability(client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == "http://testserver"
    for key, path in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
    ]:
        assert body[key] == "http://testserver" + path
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert "implicit" not in body["grant_types_supported"]
    assert "password" not in body["grant_types_supported"]
    assert body["authorization_response_iss_parameter_supported"] is True
    assert set(body["scopes_supported"]) >= {"profile", "email"}


# --- client credentials -----------------------------------------------------------------------


def test_invalid_scope_says_which_scopes_or_that_one_is_needed(client, make_client, settings):
    """The two invalid_scope descriptions of the grants' scope check, word for word: the scopes
    refused (each once, in the order asked), and, with no scope asked and no default the client
    may have, what to do. Kills the message mutants of grants.xǁ_ScopeCheckǁvalidate_requested_scope."""
    app, secret = make_client("Scoped app", scope=["read"])
    refused = client_credentials(client, app.client_id, secret, scope="write read email")
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_scope",
        "error_description": "The client may not request: write email.",
    }
    many = " ".join(f"s{i:03d}" for i in range(40))  # 199 characters: the names are cut at 100
    long = client_credentials(client, app.client_id, secret, scope="read " + many)
    assert long.json()["error_description"] == f"The client may not request: {many[:97]}...."
    settings.OAUTH2_DEFAULT_SCOPES = ["profile"]
    none = client_credentials(client, app.client_id, secret)
    assert none.status_code == 400
    assert none.json() == {
        "error": "invalid_scope",
        "error_description": "No scope was requested and this client has no default scope; "
        "name the scopes you need in the 'scope' parameter.",
    }
    assert Token.objects.count() == 0


def test_a_scope_asked_for_twice_is_granted_once(client, make_client):
    """The token carries the scope the check resolved (each name once), not the raw parameter
    (see grants.xǁ_ScopeCheckǁvalidate_requested_scope__mutmut_35 in tests/mutation_survivors.txt)."""
    app, secret = make_client("Scoped app", scope=["read", "email"])
    response = client_credentials(client, app.client_id, secret, scope="read  email read")
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "read email"
    assert Token.objects.get().scope == "read email"


def test_client_credentials_with_basic_auth_issues_a_stored_hashed_token(client, confidential):
    app, secret = confidential
    response = client_credentials(client, app.client_id, secret, scope="read")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == 3600
    assert "refresh_token" not in body
    assert body["scope"] == "read"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    row = Token.objects.get()
    assert row.grant_type == "client_credentials" and row.user is None and row.client == app
    # Only a digest is stored; the value itself appears nowhere in the row.
    assert body["access_token"] not in str(Token.objects.values().get())
    assert body["access_token"].startswith(row.access_token_prefix)


def test_client_credentials_with_post_auth(client, confidential):
    app, secret = confidential
    response = form(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.content


def test_wrong_secret_answers_401_with_basic_challenge_and_writes_nothing(client, confidential):
    app, _secret = confidential
    response = client_credentials(client, app.client_id, "ocs_wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not Token.objects.exists()


@pytest.mark.parametrize("status", [Client.Status.DISABLED, Client.Status.PENDING, Client.Status.REJECTED])
def test_inactive_client_gets_no_token(client, confidential, status):
    app, secret = confidential
    services.set_client_status(app, status, actor=Actor.system("tests"))
    response = client_credentials(client, app.client_id, secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not Token.objects.exists()


def test_unknown_scope_is_refused_not_narrowed(client, confidential):
    app, secret = confidential
    response = client_credentials(client, app.client_id, secret, scope="read admin")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not Token.objects.exists()


def test_rotated_secret_grace_period_then_only_new_secret(client, confidential):
    app, old_secret = confidential
    new_secret, _row, _until = services.rotate_client_secret(app, actor=Actor.system("tests"))
    assert client_credentials(client, app.client_id, old_secret).status_code == 200
    assert client_credentials(client, app.client_id, new_secret).status_code == 200
    services.rotate_client_secret(
        app, actor=Actor.system("tests"), grace=services.GRACE_PERIODS["immediately"]
    )
    assert client_credentials(client, app.client_id, old_secret).status_code == 401
    assert client_credentials(client, app.client_id, new_secret).status_code == 401


def test_implicit_and_password_grants_are_not_supported(client, confidential, end_user):
    app, secret = confidential
    response = form(
        client,
        "/oauth/token",
        {"grant_type": "password", "username": "alice", "password": "alice-password-123"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_https_is_required_outside_debug(client, confidential, settings):
    settings.OAUTH2_REQUIRE_HTTPS = True
    app, secret = confidential
    response = client_credentials(client, app.client_id, secret)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    secure = form(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
        secure=True,
    )
    assert secure.status_code == 200


# --- authorization code + PKCE ----------------------------------------------------------------


def test_authorize_requires_login(client, confidential):
    app, _ = confidential
    _verifier, challenge = pkce_pair()
    response = client.get(authorize_url(app.client_id, challenge))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_consent_page_shows_scope_descriptions_and_is_not_frameable(browser, confidential):
    app, _ = confidential
    _verifier, challenge = pkce_pair()
    response = browser.get(authorize_url(app.client_id, challenge, scope="profile email"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "See your email address" in html
    assert app.name in html
    assert response["X-Frame-Options"] == "DENY"
    # Stricter than the site's same-origin: the page's URL holds the whole authorization request.
    assert response["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]


def test_full_code_flow_with_pkce_refresh_rotation_and_me(browser, confidential, end_user):
    app, secret = confidential
    code, verifier = get_code(browser, app.client_id, scope="profile email")
    http = HttpClient()
    response = exchange_code(http, app.client_id, secret, code, verifier)
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert tokens["scope"] == "profile email"
    assert tokens["refresh_token"]

    me = http.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "alice"
    assert me.json()["user"]["email"] == "alice@example.com"

    refreshed = form(
        http,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert refreshed.status_code == 200, refreshed.content
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    family = Token.objects.order_by("issued_at")
    assert family.count() == 2
    first, second = family
    assert second.parent == first and second.family_id == first.family_id
    assert first.rotated_at is not None


def test_authorization_response_carries_state_and_iss(browser, confidential):
    app, _ = confidential
    _verifier, challenge = pkce_pair()
    url = authorize_url(app.client_id, challenge, state="s-123")
    response = browser.post(url, {"confirm": "yes"})
    params = query_of(response["Location"])
    assert response["Location"].startswith(REDIRECT_URI + "?")
    assert params["state"] == "s-123"
    assert params["iss"] == "http://testserver"


@pytest.mark.parametrize("nonce", ["n-0S6_WzA2Mj", None])
def test_the_stored_code_keeps_what_the_request_asked_for(browser, confidential, end_user, nonce):
    """The code row (a digest, never the code) holds the request it answers: client, user,
    redirect URI, scope, the PKCE challenge with its method, S256, and the OpenID Connect nonce
    the ID token will repeat (none when none was sent), as sent."""
    app, _ = confidential
    _verifier, challenge = pkce_pair()
    extra = {"nonce": nonce} if nonce else {}
    url = authorize_url(app.client_id, challenge, scope="email profile", **extra)
    response = browser.post(url, {"confirm": "yes"})
    code = query_of(response["Location"])["code"]
    stored = AuthorizationCode.objects.get()
    assert code not in stored.code_digest
    assert (stored.client, stored.user, stored.redirect_uri, stored.scope) == (
        app,
        end_user,
        REDIRECT_URI,
        "email profile",
    )
    assert (stored.code_challenge, stored.code_challenge_method) == (challenge, "S256")
    assert stored.nonce == (nonce or "")


def test_deny_redirects_access_denied_with_iss(browser, confidential):
    app, _ = confidential
    _verifier, challenge = pkce_pair()
    response = browser.post(authorize_url(app.client_id, challenge), {"deny": "yes"})
    params = query_of(response["Location"])
    assert params["error"] == "access_denied"
    assert params["iss"] == "http://testserver"
    assert not AuthorizationCode.objects.exists()
    assert not Consent.objects.exists()


def test_remembered_consent_skips_the_page_for_covered_scopes(browser, confidential):
    app, _ = confidential
    get_code(browser, app.client_id, scope="profile email")
    _verifier, challenge = pkce_pair()
    again = browser.get(authorize_url(app.client_id, challenge, scope="profile"))
    assert again.status_code == 302 and "code" in query_of(again["Location"])
    broader = browser.get(authorize_url(app.client_id, challenge, scope="profile read"))
    assert broader.status_code == 200  # asks again for the new scope


def test_a_confidential_clients_loopback_uri_must_match_exactly(browser, make_client):
    """RFC 8252 §7.3's any-port loopback rule is for native (public) apps; a confidential
    client's loopback URI on another port is shown as an error, never redirected to."""
    registered = "http://127.0.0.1:8080/callback"
    app, _ = make_client("Local service", redirect_uris=[registered])
    _verifier, challenge = pkce_pair()
    url = authorize_url(app.client_id, challenge, redirect_uri="http://127.0.0.1:9999/callback")
    response = browser.get(url)
    assert response.status_code == 400 and not response.has_header("Location")
    assert "The redirect_uri is not registered for this client." in response.content.decode()
    assert not AuthorizationCode.objects.exists()


def test_require_consent_flag_asks_every_time(browser, confidential):
    app, _ = confidential
    get_code(browser, app.client_id)
    services.update_client(app, actor=Actor.system("tests"), require_consent=True)
    _verifier, challenge = pkce_pair()
    assert browser.get(authorize_url(app.client_id, challenge)).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://app.example.com/callback/extra",
        "https://app.example.com/callback?x=1",
        "https://app.example.com/callback/",
        "http://app.example.com/callback",
        "https://evil.example.com/callback",
        "https://app.example.com@evil.example.com/callback",
        "https://app.example.com/%63allback",
    ],
)
def test_unregistered_redirect_uri_is_shown_not_followed(browser, confidential, redirect_uri):
    app, _ = confidential
    _verifier, challenge = pkce_pair()
    response = browser.get(authorize_url(app.client_id, challenge, redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert "Location" not in response
    assert not AuthorizationCode.objects.exists()


def test_unknown_client_is_shown_not_redirected(browser):
    _verifier, challenge = pkce_pair()
    response = browser.get(authorize_url("no-such-client", challenge))
    assert response.status_code == 400
    assert "Location" not in response


def test_pkce_is_required_and_plain_refused(browser, confidential):
    app, _ = confidential
    missing = browser.get(authorize_url(app.client_id, None))
    assert missing.status_code == 302
    assert query_of(missing["Location"])["error"] == "invalid_request"
    plain = browser.get(
        authorize_url(app.client_id, None, code_challenge="a" * 43, code_challenge_method="plain")
    )
    assert plain.status_code == 302
    assert query_of(plain["Location"])["error"] == "invalid_request"


def test_wrong_verifier_is_invalid_grant(browser, confidential):
    app, secret = confidential
    code, _verifier = get_code(browser, app.client_id)
    response = exchange_code(HttpClient(), app.client_id, secret, code, "x" * 50)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not Token.objects.exists()


def test_code_replay_revokes_the_tokens_it_issued(browser, confidential):
    app, secret = confidential
    code, verifier = get_code(browser, app.client_id)
    http = HttpClient()
    first = exchange_code(http, app.client_id, secret, code, verifier)
    assert first.status_code == 200
    second = exchange_code(http, app.client_id, secret, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    token = Token.objects.get()
    assert token.revoked_at is not None
    me = http.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {first.json()['access_token']}")
    assert me.status_code == 401


def test_code_of_another_client_is_invalid_grant(browser, confidential, make_client):
    app, _secret = confidential
    other, other_secret = make_client("Other")
    code, verifier = get_code(browser, app.client_id)
    response = exchange_code(HttpClient(), other.client_id, other_secret, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(browser, confidential):
    app, secret = confidential
    code, verifier = get_code(browser, app.client_id)
    AuthorizationCode.objects.update(expires_at=timezone.now())
    response = exchange_code(HttpClient(), app.client_id, secret, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_public_client_uses_none_auth_and_pkce(browser, make_client):
    app, secret = make_client("SPA", client_type=Client.Type.PUBLIC)
    assert secret is None
    code, verifier = get_code(browser, app.client_id)
    response = exchange_code(HttpClient(), app.client_id, None, code, verifier)
    assert response.status_code == 200, response.content


def test_refresh_token_reuse_revokes_the_whole_family(browser, confidential):
    app, secret = confidential
    code, verifier = get_code(browser, app.client_id)
    http = HttpClient()
    original = exchange_code(http, app.client_id, secret, code, verifier).json()
    auth = basic_auth(app.client_id, secret)
    rotated = form(
        http,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": original["refresh_token"]},
        HTTP_AUTHORIZATION=auth,
    ).json()
    reuse = form(
        http,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": original["refresh_token"]},
        HTTP_AUTHORIZATION=auth,
    )
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    assert Token.objects.filter(revoked_at__isnull=True).count() == 0
    assert http.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {rotated['access_token']}").status_code == 401


def test_refresh_cannot_escalate_scope(browser, confidential):
    app, secret = confidential
    code, verifier = get_code(browser, app.client_id, scope="profile")
    http = HttpClient()
    tokens = exchange_code(http, app.client_id, secret, code, verifier).json()
    response = form(
        http,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": "profile email"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


# --- resource, revocation, introspection ------------------------------------------------------


def _issue(http, app, secret, scope="profile"):
    return client_credentials(http, app.client_id, secret, scope=scope).json()["access_token"]


def test_api_me_errors_follow_rfc6750(client, confidential):
    app, secret = confidential
    missing = client.get("/api/me")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    bad = client.get("/api/me", HTTP_AUTHORIZATION="Bearer oat_nope")
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad["WWW-Authenticate"]
    narrow = _issue(client, app, secret, scope="read")
    insufficient = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {narrow}")
    assert insufficient.status_code == 403
    assert 'error="insufficient_scope"' in insufficient["WWW-Authenticate"]


def test_disabling_a_client_stops_its_tokens_and_enabling_restores_them(client, confidential):
    app, secret = confidential
    token = _issue(client, app, secret)
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    services.set_client_status(app, Client.Status.DISABLED, actor=Actor.system("tests"))
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    services.set_client_status(app, Client.Status.ACTIVE, actor=Actor.system("tests"))
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_revocation_of_own_token(client, confidential):
    app, secret = confidential
    token = _issue(client, app, secret)
    response = form(
        client, "/oauth/revoke", {"token": token}, HTTP_AUTHORIZATION=basic_auth(app.client_id, secret)
    )
    assert response.status_code == 200
    assert Token.objects.get().revoked_at is not None
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_revocation_cannot_touch_another_clients_token(client, confidential, make_client):
    app, secret = confidential
    other, other_secret = make_client("Other")
    token = _issue(client, app, secret)
    response = form(
        client,
        "/oauth/revoke",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(other.client_id, other_secret),
    )
    # RFC 7009 §2.2: to this client the token is invalid, which is a 200 (no hint it exists).
    assert response.status_code == 200
    assert Token.objects.get().revoked_at is None


def test_revocation_requires_client_authentication(client, confidential):
    app, secret = confidential
    token = _issue(client, app, secret)
    response = form(client, "/oauth/revoke", {"token": token})
    assert response.status_code == 401
    assert Token.objects.get().revoked_at is None


def test_introspection_own_token_active_then_inactive_after_revoke(client, confidential):
    app, secret = confidential
    token = _issue(client, app, secret)
    auth = basic_auth(app.client_id, secret)
    body = form(client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth).json()
    assert body["active"] is True
    assert body["client_id"] == app.client_id
    assert body["scope"] == "profile"
    services.revoke_tokens(Token.objects.all(), actor=Actor.system("tests"), reason="test")
    assert form(client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth).json() == {
        "active": False
    }


def test_introspection_of_another_clients_token_is_inactive_unless_allowed(client, confidential, make_client):
    app, secret = confidential
    resource, resource_secret = make_client("Resource server")
    token = _issue(client, app, secret)
    auth = basic_auth(resource.client_id, resource_secret)
    assert (
        form(client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth).json()["active"] is False
    )
    services.update_client(resource, actor=Actor.system("tests"), can_introspect_any_token=True)
    assert (
        form(client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth).json()["active"] is True
    )


# --- one client per request (RFC 6749 §2.3) -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/oauth/token", {"grant_type": "client_credentials"}),
        ("/oauth/revoke", {"token": "oat_unknown"}),
        ("/oauth/introspect", {"token": "oat_unknown"}),
    ],
)
def test_basic_auth_as_one_client_with_another_client_id_in_the_body_is_refused(
    client, confidential, make_client, path, data
):
    app, secret = confidential
    other, _ = make_client("Other app")
    response = form(
        client,
        path,
        {**data, "client_id": other.client_id},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "client_id" in body["error_description"]
    assert not Token.objects.exists()


def test_basic_auth_with_its_own_client_id_in_the_body_is_accepted(client, confidential):
    app, secret = confidential
    response = form(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": app.client_id},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_failed_client_authentication_is_described_in_plain_words(client, confidential, auth):
    app, _secret = confidential
    if auth == "basic":
        response = client_credentials(client, app.client_id, "ocs_wrong")
    else:
        response = form(
            client,
            "/oauth/token",
            {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": "ocs_wrong"},
        )
    description = response.json()["error_description"]
    assert response.json()["error"] == "invalid_client"
    # Not a Python list ("methods: ['client_secret_basic', ...]"): words a developer can act on.
    assert "[" not in description and "'" not in description, description
    assert "client_secret_basic, client_secret_post" in description
