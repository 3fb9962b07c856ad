"""A page that reports what the middleware attached to the request (for the middleware tests)."""

from django.http import JsonResponse


def whoami(request):
    token = getattr(request, "oauth_token", None)
    user = request.user
    return JsonResponse(
        {
            "authenticated": user.is_authenticated,
            "username": user.get_username() if user.is_authenticated else None,
            "token_id": token.pk if token is not None else None,
        }
    )
