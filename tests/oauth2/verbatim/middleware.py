# The spec's "Middleware Integration" middleware.py, verbatim. Additions are marked "# added:".
# The tests put it in the chain with override_settings(MIDDLEWARE=...).
from django.contrib.auth.models import User  # added: the spec uses User without importing it

from .models import Token  # added: the spec uses Token without importing it


class OAuthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Add OAuth token to request if available
        auth_header = request.META.get("HTTP_AUTHORIZATION", "")
        if auth_header.startswith("Bearer "):
            token_string = auth_header[7:]
            try:
                token = Token.objects.get(access_token=token_string, revoked=False)
                if not token.is_expired():
                    request.oauth_token = token
                    request.user = User.objects.get(id=token.user_id)
            except Token.DoesNotExist:
                pass

        response = self.get_response(request)
        return response
