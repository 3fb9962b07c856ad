# The spec's "URL Configuration" urls.py, verbatim (used by the tests with
# @pytest.mark.urls("tests.oauth2.verbatim.urls")).
# added: the next line (ruff: keep the spec's import order).
# ruff: noqa: I001
from django.urls import path
from . import views

urlpatterns = [
    # OAuth 2.0 endpoints
    path("authorize/", views.authorize, name="oauth2_authorize"),
    path("token/", views.issue_token, name="oauth2_token"),
    path("revoke/", views.revoke_token, name="oauth2_revoke"),
    # API endpoints
    path("api/user/", views.api_user, name="api_user"),
    path("api/posts/", views.api_posts, name="api_posts"),
    path("api/posts/create/", views.api_create_post, name="api_create_post"),
    path("api/public/", views.api_public_posts, name="api_public_posts"),
]
