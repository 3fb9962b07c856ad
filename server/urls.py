"""Protocol endpoints and end-user sign-in pages."""

from django.urls import path

from server import device_views, logout_views, oidc_views, sign_in_page, views
from server.bindings import require_oauth

# Django tries the patterns in order, two Python calls each: the machine endpoints, the busiest,
# come first (a bearer GET at /api/me was the 15th pattern tried here). Every pattern is a plain
# path no other one matches, so the order decides nothing else
# (tests/server/test_hot_path_work.py resolves each name's path).
urlpatterns = [
    path("oauth/token", views.token, name="oauth-token"),
    path("api/me", views.api_me, name="api-me"),
    path("oauth/introspect", views.introspect, name="oauth-introspect"),
    path("oauth/revoke", views.revoke, name="oauth-revoke"),
    path("oauth/userinfo", oidc_views.userinfo, name="oauth-userinfo"),
    path("", views.home, name="home"),
    path("oauth/authorize", views.authorize, name="oauth-authorize"),
    path("oauth/device_authorization", device_views.device_authorization, name="oauth-device-authorization"),
    path("device", device_views.device, name="device"),
    path("oauth/jwks", oidc_views.jwks, name="oauth-jwks"),
    path("oauth/logout", logout_views.end_session, name="oauth-end-session"),
    path(".well-known/openid-configuration", oidc_views.openid_configuration, name="oidc-configuration"),
    path(".well-known/oauth-authorization-server", views.server_metadata, name="oauth-metadata"),
    # RFC 9728: this server's own API (/api/me, /api/v1/), the resource `require_oauth` guards.
    path(
        require_oauth.metadata_path.lstrip("/"),
        views.protected_resource_metadata,
        name="oauth-protected-resource",
    ),
    path("accounts/login/", sign_in_page.SignInView.as_view(), name="login"),
    path("accounts/logout/", logout_views.SiteLogoutView.as_view(), name="logout"),
]
