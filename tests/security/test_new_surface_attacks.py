"""The December attack review of the new surface (docs/security.md): each test here reproduces a
hole an attacker found in what landed after the first review (resource indicators, OpenID Connect
logout, the outbound guard) and fails if it opens again."""

import pytest
from django.test import Client as HttpClient

from server import services
from server.models import Token
from tests.server.resource_helpers import DEFAULT, OPERATOR, token_request

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example.com/"


# --- 1. An API's scope carried to this server's own API (RFC 8707) ----------------------------


@pytest.fixture
def machine(make_client):
    """A machine client that may ask for `read` only, and an API any client may name that
    defines scopes whose names mean something at this server's own API and operator API."""
    client, secret = make_client(grant_types=["client_credentials"], redirect_uris=[], scope=["read"])
    api = services.create_api(actor=OPERATOR, identifier=SHOP, name="Shop", allow_any_client=True)
    # As stored before the API policy refused such names (or before OAUTH2_SCOPES grew one).
    api.scopes = {"console:clients:read": "Read the shop's clients", "email": "Your shop e-mail"}
    api.save(update_fields=["scopes"])
    return client, secret


@pytest.mark.parametrize("scope", ["console:clients:read", "email"])
def test_an_api_scope_never_reaches_this_servers_api_through_a_second_resource(machine, scope):
    client, secret = machine
    http = HttpClient()
    answer = token_request(
        http, client.client_id, secret, {"grant_type": "client_credentials", "scope": scope}, [SHOP, DEFAULT]
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope", answer.content
    assert not Token.objects.exists()


def test_an_api_scope_in_this_servers_vocabulary_is_refused_by_the_api_policy():
    from server.policy_rules import PolicyError

    for name in ("console:clients:read", "email"):
        with pytest.raises(PolicyError) as refused:
            services.create_api(actor=OPERATOR, identifier=SHOP, name="Shop", scopes={name: "x"})
        assert refused.value.field == "scopes"


# --- 2. A logout token (or a JWT access token) taken for an ID token (RFC 8725 §3.11) ----------

BYE = "https://app.example.com/logged-out"


@pytest.fixture
def relying_party(make_client):
    from server.actors import Actor

    client, _secret = make_client("Relying party", scope=["openid", "profile"])
    services.update_client(client, actor=Actor.system("tests"), post_logout_redirect_uris=[BYE])
    client.refresh_from_db()
    return client


def _other_tokens_of_this_server(client, user) -> dict:
    """Tokens this server signs with the ID tokens' keys that are not ID tokens, each naming
    `user` to `client` as an ID token would (sub, aud, iss)."""
    from server.bindings.oidc import signing_key
    from server.claims import subject_for
    from server.oauth2.jwt_access_tokens import JWTAccessTokenGenerator
    from server.oauth2.logout import create_logout_token

    issuer = "http://testserver"
    sub = subject_for(user, client)
    access = JWTAccessTokenGenerator(issuer=issuer, signing_key=signing_key, subject=lambda u, c: sub)
    return {
        "logout+jwt": create_logout_token(
            issuer=issuer, client_id=client.client_id, signing_key=signing_key, sub=sub
        ),
        "at+jwt": access.create(
            client=client, grant_type="authorization_code", user=user, audiences=[client.client_id]
        ),
    }


@pytest.mark.parametrize("kind", ["logout+jwt", "at+jwt"])
def test_a_token_that_is_not_an_id_token_is_no_id_token_hint_at_logout(relying_party, end_user, kind):
    from urllib.parse import urlencode

    hint = _other_tokens_of_this_server(relying_party, end_user)[kind]
    browser = HttpClient()
    browser.force_login(end_user)
    query = urlencode({"id_token_hint": hint, "post_logout_redirect_uri": BYE})
    response = browser.get("/oauth/logout?" + query)
    # Refused like any hint this server did not issue as an ID token: an error page, nobody
    # signed out, nothing redirected.
    assert response.status_code == 400, (response.status_code, response.get("Location"))
    assert "_auth_user_id" in browser.session


@pytest.mark.parametrize("kind", ["logout+jwt", "at+jwt"])
def test_a_token_that_is_not_an_id_token_is_no_id_token_hint_at_authorize(relying_party, end_user, kind):
    from server.bindings.oidc import published_jwks
    from server.oauth2.errors import OAuth2Error
    from server.oauth2.id_tokens import read_id_token_hint

    hint = _other_tokens_of_this_server(relying_party, end_user)[kind]
    with pytest.raises(OAuth2Error):
        read_id_token_hint(hint, published_jwks(), "http://testserver")


@pytest.mark.parametrize(
    ("typ", "accepted"),
    [
        (None, True),
        ("JWT", True),
        ("jwt", True),
        ("at+jwt", False),
        ("application/at+jwt", False),
        ("logout+jwt", False),
        ("secevent+jwt", False),
        ("JWT ", False),
        ("", False),
    ],
)
def test_only_an_id_tokens_type_passes_for_a_hint(relying_party, end_user, typ, accepted):
    """The class: whatever else this server signs with these keys, only an ID token's `typ` is
    read as a hint, at both doors (authorize's sign-in check, the end-session endpoint)."""
    from joserfc import jwt

    from server.bindings.oidc import published_jwks, signing_key
    from server.claims import subject_for
    from server.oauth2.errors import OAuth2Error
    from server.oauth2.id_tokens import read_id_token_hint
    from server.oauth2.logout import SID_SESSION_KEY

    browser = HttpClient()
    browser.force_login(end_user)
    kid, key = signing_key("RS256")
    header = {"alg": "RS256", "kid": kid, **({} if typ is None else {"typ": typ})}
    claims = {
        "iss": "http://testserver",
        "sub": subject_for(end_user, relying_party),
        "aud": relying_party.client_id,
        # This browser session's: a hint of another session asks first (logout_views._hint_names).
        "sid": browser.session[SID_SESSION_KEY],
    }
    hint = jwt.encode(header, claims, key, algorithms=["RS256"])
    if accepted:
        assert read_id_token_hint(hint, published_jwks(), "http://testserver")["sub"] == claims["sub"]
    else:
        with pytest.raises(OAuth2Error):
            read_id_token_hint(hint, published_jwks(), "http://testserver")
    response = browser.get("/oauth/logout", {"id_token_hint": hint, "post_logout_redirect_uri": BYE})
    assert response.status_code == (302 if accepted else 400)


# --- 4. A chosen client_id spelled like a user's subject (RFC 9068 §5) -------------------------


@pytest.mark.parametrize("client_id", ["1", "42", "007", " 5 "])
def test_a_chosen_client_id_is_never_a_users_public_subject(client_id):
    """A client_credentials JWT access token's `sub` is the client_id (RFC 9068 §2.2); a user's
    public `sub` is their primary key as text. An id of digits would let a resource server read
    a client's token as that user's, so no door may choose one (§5)."""
    from server.actors import Actor
    from server.models import Client
    from server.policy_rules import PolicyError

    with pytest.raises(PolicyError) as refused:
        services.create_client(
            name="Migrated", actor=Actor.system("t"), client_id=client_id, grant_types=["client_credentials"]
        )
    assert refused.value.field == "client_id"
    assert not Client.objects.exists()


def test_the_operator_api_cannot_choose_such_a_client_id():
    import json as _json

    from server.models import Client
    from tests.console.api.conftest import api_with

    api = api_with(["console:clients:write"])
    answer = api.post(
        "/api/v1/clients", {"name": "Bot", "grant_types": ["client_credentials"], "client_id": "1"}
    )
    assert answer.status_code == 400, answer.content
    assert "client_id" in _json.loads(answer.content)["errors"]
    by_put = api.put("/api/v1/clients/7", {"name": "Bot", "grant_types": ["client_credentials"]})
    assert by_put.status_code == 400, by_put.content
    assert not Client.objects.filter(client_id__in=["1", "7"]).exists()


@pytest.mark.parametrize("kind", ["logout+jwt", "at+jwt", "id_token"])
@pytest.mark.parametrize("path", ["/api/me", "/oauth/userinfo", "/api/v1/clients"])
def test_a_jwt_this_server_signed_is_no_bearer_token_unless_it_issued_it_as_one(
    relying_party, end_user, kind, path
):
    """Our doors find an access token by the digest of the token as issued: a logout token, an
    ID token or a well-signed access-token JWT that no token row holds is refused (401)."""
    from joserfc import jwt

    from server.bindings.oidc import signing_key
    from server.claims import subject_for

    tokens = _other_tokens_of_this_server(relying_party, end_user)
    kid, key = signing_key("RS256")
    claims = {
        "iss": "http://testserver",
        "sub": subject_for(end_user, relying_party),
        "aud": relying_party.client_id,
    }
    tokens["id_token"] = jwt.encode(
        {"alg": "RS256", "kid": kid, "typ": "JWT"}, claims, key, algorithms=["RS256"]
    )
    response = HttpClient().get(path, HTTP_AUTHORIZATION="Bearer " + tokens[kind])
    assert response.status_code == 401, (path, kind, response.status_code)
