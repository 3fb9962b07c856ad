"""HTTP views of dynamic client registration: thin doors onto the authorization server, which
hosts the registration endpoints of `server.registration.endpoints`."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from server.bindings import authorization_server
from server.conf import server_settings
from server.oauth2 import json_error_response
from server.oauth2.errors import require_methods
from server.registration.endpoints import ClientConfigurationEndpoint, ClientRegistrationEndpoint
from server.views import database_outage_guard


def _insecure(request: HttpRequest) -> HttpResponse | None:
    """The RFC error for plain HTTP when HTTPS is required (credentials travel in these requests)."""
    if not server_settings.OAUTH2_REQUIRE_HTTPS or request.is_secure():
        return None
    return json_error_response("invalid_request", "Use HTTPS for client registration.")


# Bearer-token authenticated JSON APIs: no cookies involved, so no CSRF token either.
@csrf_exempt
@database_outage_guard
@require_methods("POST")
def register_client(request: HttpRequest) -> HttpResponse:
    """RFC 7591 §3: register a client from its metadata."""
    return _insecure(request) or authorization_server.create_endpoint_response(
        ClientRegistrationEndpoint.ENDPOINT_NAME, request
    )


@csrf_exempt
@database_outage_guard
@require_methods("GET", "PUT", "DELETE")
def client_configuration(request: HttpRequest, client_id: str) -> HttpResponse:
    """RFC 7592 §2: read, replace or delete a registered client's metadata."""
    request.registration_client_id = client_id
    return _insecure(request) or authorization_server.create_endpoint_response(
        ClientConfigurationEndpoint.ENDPOINT_NAME, request
    )
