"""URLs of the developer portal, mounted at /developers/."""

from django.urls import path

from oauth_console.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("apps/new/", views.client_create, name="client_create"),
    # `path`, not `str`: an imported client may keep an id with a slash in it. The detail URL
    # comes last so that it does not swallow the others.
    path("apps/<path:client_id>/edit/", views.client_edit, name="client_edit"),
    path("apps/<path:client_id>/rotate-secret/", views.client_rotate_secret, name="client_rotate_secret"),
    path("apps/<path:client_id>/secret/", views.client_secret, name="client_secret"),
    path("apps/<path:client_id>/delete/", views.client_delete, name="client_delete"),
    path("apps/<path:client_id>/", views.client_detail, name="client_detail"),
]
