"""The bare project's URLs: the server app's own, at the root as its docs show."""

from django.urls import include, path

urlpatterns = [path("", include("server.urls")), path("", include("server.registration_urls"))]
