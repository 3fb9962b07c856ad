"""URLs of dynamic client registration (RFC 7591) and client configuration (RFC 7592)."""

from django.urls import path, register_converter

from server import registration_views


class AnyTextConverter:
    """Like `path`, but also matches line breaks, so that every client_id reaches the endpoint
    and gets its RFC error (an HTML 404 from the URL resolver otherwise; tests/security/
    test_fuzzing.py)."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyTextConverter, "anytext")

urlpatterns = [
    path("oauth/register", registration_views.register_client, name="oauth-register"),
    path(
        "oauth/register/<anytext:client_id>",
        registration_views.client_configuration,
        name="oauth-client-configuration",
    ),
]
