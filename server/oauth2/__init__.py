"""The spec's Django integration API for an OAuth 2.0 authorization server, on authlib's core.

Model-agnostic: nothing here imports the project's models, so the package could be lifted out
as a library. See the spec (`django_oauth2_spec.md`) for the usage; `server.oauth2.grants`
holds the ORM-backed grants.
"""

from .authorization_server import AuthorizationServer
from .endpoints import IntrospectionEndpoint, RevocationEndpoint
from .errors import OAuth2Error
from .middleware import OAuthMiddleware
from .mixins import AuthorizationCodeMixin, ClientMixin, TokenMixin
from .resource_protector import BearerTokenValidator, ResourceProtector
from .signals import (
    authorization_code_replayed,
    client_authenticated,
    client_authentication_failed,
    consent_denied,
    consent_granted,
    refresh_token_reused,
    token_authenticated,
    token_issued,
    token_request_refused,
    token_revoked,
)

__all__ = [
    "AuthorizationCodeMixin",
    "AuthorizationServer",
    "BearerTokenValidator",
    "ClientMixin",
    "IntrospectionEndpoint",
    "OAuth2Error",
    "OAuthMiddleware",
    "ResourceProtector",
    "RevocationEndpoint",
    "TokenMixin",
    "authorization_code_replayed",
    "client_authenticated",
    "client_authentication_failed",
    "consent_denied",
    "consent_granted",
    "refresh_token_reused",
    "token_authenticated",
    "token_issued",
    "token_request_refused",
    "token_revoked",
]
