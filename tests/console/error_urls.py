"""The project's URLs plus one view that fails, to see the 500 page as a user would."""

from django.urls import path

from oauth_console.urls import urlpatterns as project_urlpatterns


def fail(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("boom/", fail), *project_urlpatterns]
