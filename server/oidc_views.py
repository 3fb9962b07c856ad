"""OpenID Connect endpoints: the JWKS, UserInfo and the discovery document.

Thin, like `server.views`: the protocol is in `server.oauth2` (`keys`, `userinfo`, `discovery`),
bound to our models in `server.bindings.oidc`; key writes go through `server.services`.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from server import selectors, services
from server.conf import server_settings
from server.oauth2 import keys
from server.views import database_outage_guard


@require_GET
@database_outage_guard
def jwks(request: HttpRequest) -> HttpResponse:
    """The public signing keys (RFC 7517 JWK Set): next, active and recently retired keys, each
    with kid, use and alg. Cacheable for less than a next key's lead time (check server.E006)."""
    published = list(selectors.published_signing_keys())
    if not published:
        # First need: a fresh install publishes its first key before any token is signed.
        services.signing_key_for("RS256")
        published = list(selectors.published_signing_keys())
    response = JsonResponse(keys.jwks_document(key.published_jwk() for key in published))
    response["Cache-Control"] = f"public, max-age={server_settings.OAUTH2_JWKS_MAX_AGE}"
    response["Access-Control-Allow-Origin"] = "*"
    return response
