"""Protocol endpoints and end-user sign-in pages."""

urlpatterns: list = []
