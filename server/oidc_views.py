"""OpenID Connect endpoints: the JWKS, UserInfo and the discovery document.

Thin, like `server.views`: the protocol is in `server.oauth2` (`keys`, `userinfo`, `discovery`),
bound to our models in `server.bindings.oidc`; key writes go through `server.services`.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from server import policies, selectors, services
from server.bindings import oidc
from server.claims import STANDARD_CLAIM_NAMES
from server.conf import server_settings
from server.oauth2 import discovery, keys
from server.oauth2.errors import require_methods
from server.views import (
    authorization_server_metadata,
    database_outage_guard,
    metadata_response,
    protocol_endpoint,
)


@require_methods("GET", "HEAD")
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


@protocol_endpoint  # the endpoint refuses another method as the others do (JSON 405, no-store)
def userinfo(request: HttpRequest) -> HttpResponse:
    """OpenID Connect UserInfo: the signed-in user's claims for a token carrying `openid`."""
    return oidc.userinfo(request)


@require_methods("GET", "HEAD")
def openid_configuration(request: HttpRequest) -> JsonResponse:
    """OpenID Connect Discovery: the RFC 8414 document plus OpenID's fields."""
    base = authorization_server_metadata(request)
    issuer = base["issuer"]
    document = discovery.openid_configuration(
        base,
        jwks_uri=issuer + reverse("oauth-jwks"),
        userinfo_endpoint=issuer + reverse("oauth-userinfo"),
        claims_supported=STANDARD_CLAIM_NAMES,
        end_session_endpoint=issuer + reverse("oauth-end-session"),
        backchannel_logout=True,
        frontchannel_logout=True,
        userinfo_signing_alg_values_supported=policies.USERINFO_SIGNING_ALGORITHMS,
        subject_types_supported=policies.SUBJECT_TYPES,
        claims_parameter_supported=True,
    )
    return metadata_response(document)
