"""A bearer-protected resource answering like oauth-console's /api/me."""

from django.http import JsonResponse
from oauth2_provider.decorators import protected_resource


@protected_resource(scopes=["profile"])
def api_me(request):
    user = request.resource_owner
    return JsonResponse({"user": {"id": user.pk, "username": user.get_username()} if user else None})
