"""Top-level URLs: protocol endpoints, sign-in pages, the console."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("server.urls")),
    path("", include("server.registration_urls")),
    path("developers/", include("oauth_console.portal.urls")),
    path("account/", include("oauth_console.accounts.urls")),
    path("admin/", admin.site.urls),
    path("console/", include("oauth_console.dashboard.urls")),
]
