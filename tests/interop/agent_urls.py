"""The site plus one more API for the agent test: Orders, a Django app protected by
`server.oauth2.ResourceProtector` with its RFC 9728 document, as an integrator would write it."""

from django.http import JsonResponse
from django.urls import include, path

from server.bindings.bearer import OurResourceProtector, TokenValidator

orders = OurResourceProtector(resource="/orders", scopes_supported=["orders:read"], resource_name="Orders")
orders.register_token_validator(TokenValidator())


@orders("orders:read")
def order_list(request):
    return JsonResponse({"orders": [], "user": request.oauth_token.user.get_username()})


urlpatterns = [
    path(orders.metadata_path.lstrip("/"), orders.metadata_view),
    path("orders/", order_list),
    path("", include("oauth_console.urls")),
]
