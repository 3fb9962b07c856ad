"""URLs of the end user's account pages, mounted at /account/."""

from django.urls import path

from oauth_console.accounts import views

app_name = "accounts"

urlpatterns = [
    path("apps/", views.authorized_apps, name="authorized_apps"),
    path("apps/<path:client_id>/revoke/", views.revoke_access, name="revoke_access"),
]
