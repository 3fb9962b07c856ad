"""The OpenID Connect UserInfo endpoint (OIDC Core §5.3) on authlib's, answering Django requests.

GET or POST, with the access token in the Authorization header or (POST) as the form field
`access_token` (RFC 6750 §2.2); the token must carry `openid`. A refused request gets RFC 6750's
JSON error and `WWW-Authenticate: Bearer` challenge from the ResourceProtector. The claims come
from the same `user_claims` and `subject` callables as the ID token, so `sub` is the same.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oidc.core import UserInfo
from authlib.oidc.core import UserInfoEndpoint as _AuthlibUserInfoEndpoint
from django.http import HttpRequest, HttpResponse

from .errors import NO_STORE_HEADERS, MethodNotAllowedError, OAuth2Error, json_response
from .id_tokens import PROTOCOL_CLAIMS, Subject, UserClaims, default_subject
from .resource_protector import ResourceProtector

__all__ = ["UserInfoEndpoint"]

REQUIRED_SCOPE = "openid"


class UserInfoEndpoint(_AuthlibUserInfoEndpoint):
    """Call it with a Django request: `return userinfo(request)`."""

    def __init__(
        self,
        resource_protector: ResourceProtector,
        *,
        user_claims: UserClaims,
        subject: Subject | None = None,
        server: Any = None,
    ) -> None:
        super().__init__(server=server, resource_protector=resource_protector)
        self.user_claims = user_claims
        self.subject = subject or default_subject

    def generate_user_info(self, user: Any, scope: str, client: Any = None) -> UserInfo:
        """The claims for the token's scopes; `sub` from `subject`, never from the hook."""
        scopes = (scope or "").split()
        claims = {k: v for k, v in self.user_claims(user, scopes, client).items() if k not in PROTOCOL_CLAIMS}
        return UserInfo(sub=self.subject(user, client), **claims)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        protector = self.resource_protector
        if request.method not in ("GET", "POST"):
            error = MethodNotAllowedError(("GET", "POST"))
            return json_response(405, dict(error.get_body()), error.get_headers())
        try:
            token = protector.validate_request(request, REQUIRED_SCOPE, form_body=True)
            user = token.get_user()
            if user is None:
                # A client's own token (client_credentials) speaks for no one.
                raise InvalidTokenError("This access token does not speak for a user.")
        except OAuth2Error as error:
            return protector.error_response(request, error, [REQUIRED_SCOPE])
        client = getattr(token, "client", None)
        claims = self.generate_user_info(user, token.get_scope(), client)
        return json_response(200, dict(claims), NO_STORE_HEADERS)
