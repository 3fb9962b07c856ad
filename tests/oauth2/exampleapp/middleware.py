"""The spec's "Middleware Integration" example, with its imports written out.

It is tied to this app's models; `server.oauth2.OAuthMiddleware` is the model-agnostic version.
"""

from django.contrib.auth.models import User

from .models import Token


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
