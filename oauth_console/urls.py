"""Top-level URLs: health and metrics, protocol endpoints, sign-in pages, the console."""

from django.contrib import admin
from django.urls import include, path

from oauth_console import health
from oauth_console.metrics import views as metrics

urlpatterns = [
    # Operations (docs/operations.md): listed in SECURE_REDIRECT_EXEMPT too.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("", include("server.urls")),
    path("", include("server.registration_urls")),
    path("developers/", include("oauth_console.portal.urls")),
    path("account/", include("oauth_console.accounts.urls")),
    path("admin/", admin.site.urls),
    path("console/", include("oauth_console.dashboard.urls")),
]
