"""JWT access tokens (RFC 9068) issued by our server: the header and claims exactly (§2), and
every check by digest that works for opaque tokens working for them too: our own bearer check
(revocation immediate), RFC 7009 revocation and RFC 7662 introspection with the JWT string, the
console's token list, bulk revocation and the audit log. Offline validation (§4) is beside it,
to show that revocation reaches an offline validator only at `exp`."""

import base64
import json
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse
from joserfc import jwt
from joserfc.jwk import KeySet

from oauth_console.audit.models import AuditEvent, EventType
from server import services
from server.actors import Actor
from server.models import Client, SigningKey, Token
from server.oauth2 import JWTBearerTokenValidator, ResourceProtector
from tests.console.api.conftest import machine_client
from tests.server.device_helpers import DEVICE_GRANTS, decide, enter_code, poll, start
from tests.server.helpers import basic_auth, exchange_code, form, get_code

pytestmark = pytest.mark.django_db

ISSUER = "https://auth.example.test"
DEFAULT_API = ISSUER + "/api"  # this server's own API: what a JWT without `resource` is for


@pytest.fixture(autouse=True)
def jwt_format(settings):
    settings.OAUTH2_ISSUER = ISSUER
    settings.OAUTH2_ACCESS_TOKEN_FORMAT = "jwt"


@pytest.fixture
def machine(make_client):
    return make_client("Batch job", grant_types=["client_credentials"], scope=["profile", "read"])


@pytest.fixture
def browser(end_user):
    http = HttpClient()
    http.force_login(end_user)
    return http


def client_credentials(app, scope="profile read") -> dict:
    client, secret = app
    response = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()


def parts(token: str) -> tuple[dict, dict]:
    def read(part: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    header, payload, _signature = token.split(".")
    return read(header), read(payload)


def published_keys() -> dict:
    return HttpClient().get("/oauth/jwks").json()


def me(token: str):
    return HttpClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def introspect(app, token: str) -> dict:
    client, secret = app
    response = form(
        HttpClient(),
        "/oauth/introspect",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()


def revoke(app, token: str):
    client, secret = app
    return form(
        HttpClient(),
        "/oauth/revoke",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )


def offline_status(token: str, jwks: dict, *, resource: str = DEFAULT_API, scope: str = "profile") -> int:
    """What a resource server validating offline answers (another Django app, our JWKS)."""
    protector = ResourceProtector()
    protector.register_token_validator(JWTBearerTokenValidator(ISSUER, resource, jwks=jwks))
    view = protector(scope)(lambda request: HttpResponse("ok"))
    return view(RequestFactory().get("/orders", HTTP_AUTHORIZATION=f"Bearer {token}")).status_code


# --- issuance: RFC 9068 §2 -----------------------------------------------------------------------


def test_client_credentials_token_has_exactly_the_rfc9068_header_and_claims(machine):
    body = client_credentials(machine)
    token = body["access_token"]
    header, claims = parts(token)
    active = SigningKey.objects.get(alg="RS256", state=SigningKey.State.ACTIVE)
    assert header == {"typ": "at+jwt", "alg": "RS256", "kid": active.kid}
    client = machine[0]
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"}
    assert claims["iss"] == ISSUER
    assert claims["sub"] == client.client_id  # §2.2: no resource owner, the client
    assert claims["client_id"] == client.client_id
    assert claims["aud"] == DEFAULT_API  # no resource requested: the default API (RFC 9728 names it)
    assert claims["scope"] == "profile read" == body["scope"]
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 3600
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 22
    # Signed with the key /oauth/jwks publishes.
    verified = jwt.decode(token, KeySet.import_key_set(published_keys()), algorithms=["RS256"])
    assert verified.claims == claims


def test_the_code_flow_gives_a_jwt_for_the_user_and_an_opaque_refresh_token(make_client, browser, end_user):
    client, secret = make_client("Web app", scope=["openid", "profile"])
    code, verifier = get_code(browser, client.client_id, scope="openid profile")
    body = exchange_code(HttpClient(), client.client_id, secret, code, verifier).json()
    _header, claims = parts(body["access_token"])
    _id_header, id_claims = parts(body["id_token"])
    assert claims["sub"] == str(end_user.pk) == id_claims["sub"]
    assert claims["client_id"] == client.client_id and claims["scope"] == "openid profile"
    assert body["refresh_token"].startswith("ort_")
    # The refreshed access token is a JWT again, with a new jti.
    refreshed = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    ).json()
    assert parts(refreshed["access_token"])[1]["jti"] != claims["jti"]
    assert me(refreshed["access_token"]).status_code == 200


def test_opaque_stays_the_default(machine, settings):
    del settings.OAUTH2_ACCESS_TOKEN_FORMAT
    assert client_credentials(machine)["access_token"].startswith("oat_")


def test_each_token_has_its_own_jti(machine):
    assert (
        parts(client_credentials(machine)["access_token"])[1]["jti"]
        != parts(client_credentials(machine)["access_token"])[1]["jti"]
    )


# --- our own doors check the token's row ---------------------------------------------------------


def test_our_bearer_views_accept_our_jwt(machine):
    token = client_credentials(machine)["access_token"]
    answer = me(token)
    assert answer.status_code == 200, answer.content
    assert answer.json()["client_id"] == machine[0].client_id


def test_the_operator_api_accepts_a_jwt_with_its_scopes():
    app = machine_client(["console:clients:read"])
    token = client_credentials(app, scope="console:clients:read")["access_token"]
    assert token.startswith("eyJ")
    answer = HttpClient().get("/api/v1/clients", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200, answer.content


def test_userinfo_accepts_a_jwt(make_client, browser, end_user):
    client, secret = make_client("Web app", scope=["openid", "profile"])
    code, verifier = get_code(browser, client.client_id, scope="openid profile")
    token = exchange_code(HttpClient(), client.client_id, secret, code, verifier).json()["access_token"]
    answer = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200, answer.content
    assert answer.json()["sub"] == str(end_user.pk)


def test_an_altered_jwt_matches_no_row(machine):
    token = client_credentials(machine, scope="read")["access_token"]
    header, _payload, signature = token.split(".")
    _h, claims = parts(token)
    claims["scope"] = "profile read"  # a scope it was not given
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    assert me(forged).status_code == 401
    assert introspect(machine, forged) == {"active": False}
    assert offline_status(forged, published_keys(), scope="read") == 401


def test_the_bare_jti_is_not_a_token(machine):
    token = client_credentials(machine)["access_token"]
    assert me(parts(token)[1]["jti"]).status_code == 401


# --- revocation: immediate at our doors, at exp offline --------------------------------------------


def test_revocation_refuses_at_once_here_and_offline_only_at_exp(machine, time_machine):
    time_machine.move_to("2026-12-06 12:00:00Z", tick=False)
    token = client_credentials(machine)["access_token"]
    jwks = published_keys()
    assert me(token).status_code == 200
    assert offline_status(token, jwks) == 200

    assert revoke(machine, token).status_code == 200
    row = Token.objects.get()
    assert row.revoked_at is not None and row.revoked_reason == "revoked by the client"
    assert me(token).status_code == 401  # our own check reads the row: at once
    assert introspect(machine, token) == {"active": False}
    # An offline validator cannot know: it accepts the revoked token until it expires.
    assert offline_status(token, jwks) == 200
    time_machine.shift(timedelta(seconds=3599))
    assert offline_status(token, jwks) == 200
    time_machine.shift(timedelta(seconds=1))
    assert offline_status(token, jwks) == 401


def test_introspection_of_a_jwt(machine):
    token = client_credentials(machine)["access_token"]
    _h, claims = parts(token)
    answer = introspect(machine, token)
    assert answer["active"] is True
    assert answer["client_id"] == machine[0].client_id
    assert answer["scope"] == "profile read"
    assert answer["token_type"] == "Bearer"
    assert abs(answer["exp"] - claims["exp"]) <= 2


def test_bulk_revocation_covers_jwt_tokens(machine):
    tokens = [client_credentials(machine)["access_token"] for _ in range(3)]
    count = services.revoke_tokens(
        Token.objects.filter(client=machine[0]), actor=Actor.system("tests"), reason="bulk"
    )
    assert count == 3
    assert [me(token).status_code for token in tokens] == [401, 401, 401]
    assert AuditEvent.objects.filter(event_type=EventType.TOKENS_REVOKED, detail__count=3).exists()


def test_a_disabled_clients_jwt_stops_working_here_at_once(machine):
    token = client_credentials(machine)["access_token"]
    Client.objects.filter(pk=machine[0].pk).update(status=Client.Status.DISABLED)
    assert me(token).status_code == 401


# --- the console and the audit log ----------------------------------------------------------------


def test_the_console_token_list_shows_a_jwt_by_its_jti(machine, django_user_model):
    from django.contrib.auth.models import Group

    token = client_credentials(machine)["access_token"]
    jti = parts(token)[1]["jti"]
    row = Token.objects.get()
    assert row.access_token_prefix == ("jwt:" + jti)[:12]
    operator = django_user_model.objects.create_user(
        "olga", "olga@example.com", "olga-pw-123456", is_staff=True
    )
    operator.groups.add(Group.objects.get(name="operators"))
    http = HttpClient()
    http.force_login(operator)
    page = http.get(reverse("admin:server_token_changelist"))
    assert page.status_code == 200
    assert row.access_token_prefix in page.content.decode()


def test_audit_events_are_those_of_an_opaque_token(machine):
    token = client_credentials(machine)["access_token"]
    row = Token.objects.get()
    issued = AuditEvent.objects.get(event_type=EventType.TOKEN_ISSUED)
    assert (issued.token_id, issued.token_prefix) == (row.pk, row.access_token_prefix)
    assert token not in json.dumps(issued.detail)  # the token itself is never recorded
    revoke(machine, token)
    revoked = AuditEvent.objects.get(event_type=EventType.TOKEN_REVOKED)
    assert (revoked.token_id, revoked.token_prefix) == (row.pk, row.access_token_prefix)


# --- the device flow: JWT access token and ID token ------------------------------------------------


@pytest.mark.parametrize("token_format", ["opaque", "jwt"])
def test_the_device_flow_returns_an_id_token_with_openid(
    make_client, browser, end_user, settings, token_format
):
    settings.OAUTH2_ACCESS_TOKEN_FORMAT = token_format
    app = make_client("TV", redirect_uris=[], grant_types=DEVICE_GRANTS, scope=["openid", "profile"])
    http = HttpClient()
    started = start(http, app, scope="openid profile").json()
    decide(browser, enter_code(browser, started["user_code"]), allow=True)
    body = poll(http, app, started["device_code"]).json()
    assert "id_token" in body, body
    id_token = jwt.decode(body["id_token"], KeySet.import_key_set(published_keys()), algorithms=["RS256"])
    assert id_token.header["typ"] == "JWT"  # an ID token, never mistaken for an access token
    assert id_token.claims["iss"] == ISSUER
    assert id_token.claims["aud"] == app[0].client_id
    assert id_token.claims["sub"] == str(end_user.pk)
    assert "nonce" not in id_token.claims
    assert id_token.claims["exp"] > id_token.claims["iat"]
    assert "at_hash" in id_token.claims
    assert me(body["access_token"]).status_code == 200
    if token_format == "jwt":
        assert parts(body["access_token"])[1]["sub"] == str(end_user.pk)


def test_the_device_flow_without_openid_has_no_id_token(make_client, browser):
    app = make_client("TV", redirect_uris=[], grant_types=DEVICE_GRANTS, scope=["openid", "profile"])
    http = HttpClient()
    started = start(http, app, scope="profile").json()
    decide(browser, enter_code(browser, started["user_code"]), allow=True)
    body = poll(http, app, started["device_code"]).json()
    assert "access_token" in body and "id_token" not in body


def test_an_id_token_is_refused_where_an_access_token_is_expected(make_client, browser):
    client, secret = make_client("Web app", scope=["openid", "profile"])
    code, verifier = get_code(browser, client.client_id, scope="openid profile")
    body = exchange_code(HttpClient(), client.client_id, secret, code, verifier).json()
    # Same keys, same issuer, but typ JWT and aud the client: never an access token.
    assert offline_status(body["id_token"], published_keys(), resource=client.client_id) == 401
    assert me(body["id_token"]).status_code == 401


# --- settings checks ---------------------------------------------------------------------------------


def test_check_e015_unknown_format_and_jwt_without_issuer(settings):
    from server.checks_resources import check_access_token_format

    assert check_access_token_format() == []
    settings.OAUTH2_ACCESS_TOKEN_FORMAT = "paseto"
    assert [m.id for m in check_access_token_format()] == ["server.E015"]
    settings.OAUTH2_ACCESS_TOKEN_FORMAT = "jwt"
    settings.OAUTH2_ISSUER = ""
    assert [m.id for m in check_access_token_format()] == ["server.E015"]
    settings.OAUTH2_ACCESS_TOKEN_FORMAT = "opaque"
    assert check_access_token_format() == []


def test_check_w010_long_lived_jwt_access_tokens(settings):
    from server.checks_resources import check_jwt_access_token_lifetime

    assert check_jwt_access_token_lifetime() == []  # 3600 s
    settings.OAUTH2_ACCESS_TOKEN_LIFETIME = 7200
    assert [m.id for m in check_jwt_access_token_lifetime()] == ["server.W010"]
    settings.OAUTH2_ACCESS_TOKEN_FORMAT = "opaque"
    assert check_jwt_access_token_lifetime() == []


def test_a_jwt_for_an_api_carries_that_api_as_audience_and_its_lifetime(machine):
    """RFC 8707 + RFC 9068: the token endpoint resolves `resource`, and the JWT's `aud` and `exp`
    are that API's identifier and token lifetime (not the issuer and the server's lifetime)."""
    client, secret = machine
    api = services.create_api(
        actor=Actor.system("tests"),
        identifier="https://orders.example.com/",
        name="Orders",
        scopes={"orders:read": "See your orders"},
        token_format="jwt",
        access_token_lifetime=300,
        allowed_clients=[client.client_id],
    )
    response = form(
        HttpClient(),
        "/oauth/token",
        {"grant_type": "client_credentials", "resource": api.identifier, "scope": "orders:read"},
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    _header, claims = parts(body["access_token"])
    assert claims["aud"] in (api.identifier, [api.identifier])
    assert claims["exp"] - claims["iat"] == 300 == body["expires_in"]
    assert (
        offline_status(body["access_token"], published_keys(), resource=api.identifier, scope="orders:read")
        == 200
    )
    assert offline_status(body["access_token"], published_keys(), resource=ISSUER, scope="orders:read") == 401
