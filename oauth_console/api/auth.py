"""Who calls the API, and which operator scope each endpoint needs.

A machine caller presents one of our own access tokens (`Authorization: Bearer ...`), checked by
the server's `require_oauth` (server/bindings/bearer.py: digest lookup, expiry, revocation, a
disabled client's tokens refused) and accepted only when it was issued by client_credentials
(no end user behind it). An operator in the browser may use the staff session instead (with
Django's CSRF check); the operator scopes then map to the admin's permissions.

A missing token is 401 with RFC 6750's bare `Bearer realm=...` challenge; a refused one, 401
`invalid_token`; a token without the endpoint's scope, 403 `insufficient_scope` (the challenge
names the scopes that would do).
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, permissions

from oauth_console.api.problems import Problem

# The scopes and their permissions are shared with the admin's client pages (one mapping);
# re-exported here for the API's views.
from oauth_console.operator_scopes import (  # noqa: F401
    READ_AUDIT,
    READ_CLIENTS,
    REVOKE_TOKENS,
    SCOPE_PERMISSIONS,
    WRITE_CLIENTS,
    WRITE_KEYS,
    WRITE_WEBHOOKS,
    held_by,
)
from server import policies
from server.actors import Actor
from server.bindings import require_oauth
from server.models import Client, Token
from server.oauth2 import OAuth2Error


@dataclass(frozen=True)
class Caller:
    """`request.user` of an API request: the actor its writes are recorded under."""

    actor: Actor
    client: Client | None = None
    user: object | None = None
    # The operator scopes this caller holds: what it may grant to a client it creates.
    operator_scopes: tuple[str, ...] = ()
    is_authenticated = True

    @property
    def label(self) -> str:
        return self.actor.label


def _bearer_refusal(request, error: OAuth2Error, scopes=None) -> Problem:
    # The server's own RFC 6750 answer (which also sends `bearer_token_refused`), as a problem.
    answer = require_oauth.error_response(request, error, scopes)
    slug = "insufficient-scope" if answer.status_code == 403 else "invalid-token"
    if error.error == "invalid_request":
        slug = "invalid-request"
    return Problem(
        answer.status_code,
        slug,
        error.description or error.error,
        headers={"WWW-Authenticate": answer["WWW-Authenticate"]},
        extra={"error": error.error},
    )


class InvalidTokenError(OAuth2Error):
    error = "invalid_token"
    status_code = 401


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Our access tokens, through `require_oauth`; only client_credentials tokens."""

    def authenticate(self, request):
        django_request = request._request
        if "HTTP_AUTHORIZATION" not in django_request.META and "access_token" not in request.query_params:
            return None  # the session may authenticate; else 401 with the bare challenge
        try:
            token: Token = require_oauth.acquire_token(django_request, None)
        except OAuth2Error as error:
            raise _bearer_refusal(django_request, error) from None
        if token.user_id is not None or token.grant_type != "client_credentials":
            error = InvalidTokenError("The operator API takes tokens of the client_credentials grant only.")
            raise _bearer_refusal(django_request, error)
        held = tuple(s for s in token.scope.split() if s in policies.operator_scopes())
        caller = Caller(Actor.client(token.client.client_id), client=token.client, operator_scopes=held)
        return caller, token

    def authenticate_header(self, request) -> str:
        # RFC 9728 §5.1: the challenge names the API's metadata (resource_metadata).
        return require_oauth.challenge(request._request)


class OperatorSessionAuthentication(authentication.SessionAuthentication):
    """A signed-in staff member (the browsable pages); CSRF-checked like any session POST."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None or not found[0].is_staff:
            return None
        user = found[0]
        return Caller(Actor.operator(user), user=user, operator_scopes=held_by(user)), None


class HasOperatorScope(permissions.BasePermission):
    """The view's `scopes[method]`: alternatives, any one of which will do."""

    def has_permission(self, request, view) -> bool:
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        required = getattr(view, "scopes", {}).get(method)
        if required is None:
            return True  # the view answers 405 for a method it does not have
        caller = request.user
        if not isinstance(caller, Caller):
            challenge = {"WWW-Authenticate": view.get_authenticate_header(request)}
            raise Problem(401, "not-authenticated", "No access token was sent.", headers=challenge)
        if request.auth is not None:
            try:
                require_oauth.validate_request(request._request, list(required))
            except OAuth2Error as error:
                raise _bearer_refusal(request._request, error, list(required)) from None
            return True
        if any(scope in caller.operator_scopes for scope in required):
            return True
        raise Problem(403, "forbidden", f"This needs the permission behind {' or '.join(required)}.")
