"""The operators' console home: /console/."""

from django.urls import path

from oauth_console.dashboard import views

app_name = "console"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
