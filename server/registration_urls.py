"""URLs of dynamic client registration (RFC 7591) and client configuration (RFC 7592)."""

from django.urls import path

from server import registration_views

urlpatterns = [
    path("oauth/register", registration_views.register_client, name="oauth-register"),
    path(
        "oauth/register/<path:client_id>",
        registration_views.client_configuration,
        name="oauth-client-configuration",
    ),
]
