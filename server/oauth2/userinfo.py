"""The OpenID Connect UserInfo endpoint (OIDC Core §5.3) on authlib's, answering Django requests.

GET or POST, with the access token in the Authorization header or (POST) as the form field
`access_token` (RFC 6750 §2.2); the token must carry `openid`. A refused request gets RFC 6750's
JSON error and `WWW-Authenticate: Bearer` challenge from the ResourceProtector. The claims come
from the same `user_claims` and `subject` callables as the ID token, so `sub` is the same; the
claims approved one by one for UserInfo (the token's `get_granted_claims("userinfo")`) are added.

A client whose `userinfo_signed_response_alg` is RS256 or ES256 gets the claims as a signed JWT
(`application/jwt`, OIDC Core §5.3.2) with `iss` and `aud` added, signed by `signing_key(alg)`
(the ID tokens' keys); others get plain JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oidc.core import UserInfo
from authlib.oidc.core import UserInfoEndpoint as _AuthlibUserInfoEndpoint
from django.http import HttpRequest, HttpResponse
from joserfc import jwt

from .claims_request import add_granted_claims
from .errors import NO_STORE_HEADERS, OAuth2Error, json_response, method_not_allowed
from .id_tokens import PROTOCOL_CLAIMS, SigningKey, Subject, UserClaims, default_subject
from .keys import SIGNING_ALGORITHMS
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
        signing_key: SigningKey | None = None,
        issuer: Callable[[HttpRequest], str] | None = None,
    ) -> None:
        super().__init__(server=server, resource_protector=resource_protector)
        self.user_claims = user_claims
        self.subject = subject or default_subject
        self.signing_key = signing_key
        self.issuer = issuer

    def signing_algorithm(self, client: Any) -> str | None:
        """The client's `userinfo_signed_response_alg` when this endpoint can sign with it."""
        alg = getattr(client, "userinfo_signed_response_alg", "") or ""
        return alg if alg in SIGNING_ALGORITHMS and self.signing_key and self.issuer else None

    def signed_response(self, request: HttpRequest, claims: dict, client: Any, alg: str) -> HttpResponse:
        """The claims as a JWT signed with `alg`, with `iss` and `aud` (OIDC Core §5.3.2)."""
        body = {**claims, "iss": self.issuer(request), "aud": client.get_client_id()}
        kid, key = self.signing_key(alg)
        token = jwt.encode({"alg": alg, "kid": kid, "typ": "JWT"}, body, key, algorithms=[alg])
        response = HttpResponse(token, content_type="application/jwt")
        for name, value in NO_STORE_HEADERS:
            response[name] = value
        return response

    def generate_user_info(self, user: Any, scope: str, client: Any = None, granted=()) -> UserInfo:
        """The claims for the token's scopes, and exactly the `granted` ones (approved one by
        one for UserInfo); `sub` from `subject`, never from the hook."""
        scopes = (scope or "").split()
        found = self.user_claims(user, scopes, client)
        found = add_granted_claims(found, self.user_claims, user, scopes, client, granted)
        claims = {k: v for k, v in found.items() if k not in PROTOCOL_CLAIMS}
        return UserInfo(sub=self.subject(user, client), **claims)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        protector = self.resource_protector
        if request.method not in ("GET", "POST"):
            return method_not_allowed(("GET", "POST"))
        try:
            token = protector.validate_request(request, REQUIRED_SCOPE, form_body=True)
            user = token.get_user()
            if user is None:
                # A client's own token (client_credentials) speaks for no one.
                raise InvalidTokenError("This access token does not speak for a user.")
        except OAuth2Error as error:
            return protector.error_response(request, error, [REQUIRED_SCOPE])
        client = getattr(token, "client", None)
        # A token answers `get_granted_claims("userinfo")`: the claims its user approved one by one.
        granted = token.get_granted_claims("userinfo") if hasattr(token, "get_granted_claims") else []
        claims = self.generate_user_info(user, token.get_scope(), client, granted)
        alg = self.signing_algorithm(client)
        if alg:
            return self.signed_response(request, dict(claims), client, alg)
        return json_response(200, dict(claims), NO_STORE_HEADERS)
