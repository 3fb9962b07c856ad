"""The spec's URL configuration, plus introspection, a sign-in page and a page for the
model-agnostic middleware to be tested on."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .api import views as api_views
from .whoami import whoami

urlpatterns = [
    # OAuth 2.0 endpoints
    path("authorize/", views.authorize, name="oauth2_authorize"),
    path("token/", views.issue_token, name="oauth2_token"),
    path("revoke/", views.revoke_token, name="oauth2_revoke"),
    path("introspect/", views.introspect_token, name="oauth2_introspect"),
    # API endpoints
    path("api/user/", api_views.api_user, name="api_user"),
    path("api/posts/", api_views.api_posts, name="api_posts"),
    path("api/posts/create/", api_views.api_create_post, name="api_create_post"),
    path("api/public/", api_views.api_public_posts, name="api_public_posts"),
    # Where @login_required sends anonymous people (settings.LOGIN_URL = "login").
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="exampleapp/login.html"),
        name="login",
    ),
    path("whoami/", whoami, name="whoami"),
]
