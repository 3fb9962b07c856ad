"""OAuthMiddleware: authenticate requests that carry a valid bearer token.

Model-agnostic: the token check comes from the ResourceProtector (or validator) named by the
setting OAUTH2_RESOURCE_PROTECTOR ("dotted.path.to.require_oauth"), else from a
BearerTokenValidator on the model named by OAUTH2_TOKEN_MODEL ("app_label.Model").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import TokenValidator
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string

from .mixins import related_user
from .resource_protector import BearerTokenValidator, ResourceProtector

__all__ = ["OAuthMiddleware", "configured_resource_protector"]


def configured_resource_protector() -> ResourceProtector:
    """The ResourceProtector the settings name (OAUTH2_RESOURCE_PROTECTOR, else OAUTH2_TOKEN_MODEL)."""
    path = getattr(settings, "OAUTH2_RESOURCE_PROTECTOR", "") or ""
    if path:
        target = import_string(path)
        if isinstance(target, ResourceProtector):
            return target
        if isinstance(target, type) and issubclass(target, TokenValidator):
            target = target()
        if isinstance(target, TokenValidator):
            return ResourceProtector(target)
        raise ImproperlyConfigured(
            f"OAUTH2_RESOURCE_PROTECTOR={path!r} is not a ResourceProtector or validator."
        )
    label = getattr(settings, "OAUTH2_TOKEN_MODEL", "") or ""
    if label:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise ImproperlyConfigured(f"OAUTH2_TOKEN_MODEL={label!r} is not an installed model.") from exc
        return ResourceProtector(BearerTokenValidator(model))
    raise ImproperlyConfigured(
        "OAuthMiddleware needs OAUTH2_RESOURCE_PROTECTOR (dotted path to a ResourceProtector) "
        "or OAUTH2_TOKEN_MODEL ('app_label.Model')."
    )


def _token_user(token: Any) -> Any:
    getter = getattr(token, "get_user", None)
    user = getter() if getter else related_user(token)
    # A client-credentials token acts for no user; a deactivated user's tokens sign in nobody.
    if user is None or not getattr(user, "is_active", True):
        return AnonymousUser()
    return user


class OAuthMiddleware:
    """Set `request.oauth_token` and `request.user` from a valid bearer token; otherwise leave the
    request alone. The user is loaded lazily, once, on first use of `request.user`.

    Place it after AuthenticationMiddleware so that the token's user wins over the session's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.protector = configured_resource_protector()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.authenticate(request)
        return self.get_response(request)

    def authenticate(self, request: HttpRequest) -> Any:
        """Attach the token and its (lazy) user when the request carries a valid bearer token."""
        scheme, _, _ = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = self.protector.acquire_token(request, raise_error=False)
        if token is None:
            return None
        request.oauth_token = token
        request.user = SimpleLazyObject(lambda: _token_user(token))
        return token
