import resource_views
import views  # the bare reference's floor views
from django.urls import path

urlpatterns = [
    path("select", views.select),
    path("jwt", resource_views.offline),
    path("jwt-introspected", resource_views.introspected),
]
