"""APIs and audience-bound tokens for the RFC 8707 / RFC 9728 tests."""

from urllib.parse import urlencode

from django.http import JsonResponse
from django.test import RequestFactory

from server import services
from server.actors import Actor
from server.bindings.bearer import OurResourceProtector, TokenValidator
from tests.server.helpers import REDIRECT_URI, basic_auth, form, pkce_pair, query_of

OPERATOR = Actor.system("tests")
ORDERS = "https://orders.example.com/"
BILLING = "https://billing.example.com/v1"
HIDDEN = "https://hidden.example.com/"
DEFAULT = "http://testserver/api"


def make_apis(client, *, orders_lifetime=None):
    """Orders and Billing, which `client` may ask for, and Hidden, which it may not."""
    return {
        "orders": services.create_api(
            actor=OPERATOR,
            identifier=ORDERS,
            name="Orders",
            scopes={"orders:read": "See your orders", "orders:write": "Place orders"},
            allowed_clients=[client.client_id],
            access_token_lifetime=orders_lifetime,
        ),
        "billing": services.create_api(
            actor=OPERATOR,
            identifier=BILLING,
            name="Billing",
            scopes={"billing:read": "See your invoices"},
            allowed_clients=[client.client_id],
        ),
        "hidden": services.create_api(
            actor=OPERATOR, identifier=HIDDEN, name="Hidden", scopes={"hidden:read": "Secrets"}
        ),
    }


def authorize_query(client_id, challenge, *, scope, resources=(), state="xyz", **extra) -> str:
    params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", scope),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        *(("resource", value) for value in resources),
        *extra.items(),
    ]
    return "/oauth/authorize?" + urlencode(params)


def code_for(http, client_id, *, scope, resources=()):
    """Consent as the logged-in user of `http`; (code, verifier)."""
    verifier, challenge = pkce_pair()
    url = authorize_query(client_id, challenge, scope=scope, resources=resources)
    response = http.get(url)
    if response.status_code == 200:
        response = http.post(url, {"confirm": "yes"})
    assert response.status_code == 302, response.content[:500]
    params = query_of(response["Location"])
    assert "code" in params, params
    return params["code"], verifier


def token_request(http, client_id, secret, data, resources=()):
    body = urlencode([*data.items(), *(("resource", value) for value in resources)])
    return http.post(
        "/oauth/token",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
    )


def exchange(http, client_id, secret, code, verifier, resources=()):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    return token_request(http, client_id, secret, data, resources)


def introspect(http, client_id, secret, token):
    return form(http, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=basic_auth(client_id, secret))


def api_view(identifier: str, scope: str | None = None):
    """A view of the API `identifier`, protected by our validator: call it with a token."""
    protector = OurResourceProtector(resource=identifier)
    protector.register_token_validator(TokenValidator())

    @protector(scope)
    def view(request):
        return JsonResponse({"api": identifier, "scope": request.oauth_token.scope})

    def call(access_token: str):
        return view(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access_token}"))

    return call
