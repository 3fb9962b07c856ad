"""The spec's Django integration API for an OAuth 2.0 authorization server, on authlib's core.

The one adapter over authlib: everything that speaks a protocol lives here (authorize, token,
revoke, introspect, register, OpenID Connect), and so do the request parsing (forms and JSON), the Basic
credential reader, the error answers and the no-store JSON response. Model-agnostic: nothing
here imports the project's models or anything else of `server`, so the package could be lifted
out as a library (`make lint` checks it with import-linter). See the spec
(`django_oauth2_spec.md`) for the usage; `server.oauth2.grants` holds the ORM-backed grants.

Modules, one concept each: `protocol_server` (parse, authenticate clients, answer) and
`authorization_server` (grants) on it; `endpoints` (RFC 7009, 7662) and `registration`
(RFC 7591, 7592); `grants`, `pkce`; `requests` and `bodies` (reading requests); `client_auth`,
`client_assertion` (private_key_jwt, RFC 7523);
`errors`; `resource_protector`, `resource_indicators` (RFC 8707), `resource_metadata` (RFC 9728),
`middleware`; `mixins`; `signals`; OpenID Connect: `id_tokens` (the ID-token extensions of the
code, refresh and device-code grants), `userinfo`, `discovery`, `keys` (JWKs); JWT access tokens
(RFC 9068): `jwt_access_tokens` (issue), `jwt_validation` (validate offline, for resource servers).
"""

from .authorization_server import AuthorizationServer
from .client_assertion import PrivateKeyJWT
from .client_auth import claimed_client_id, read_basic_credentials
from .endpoints import IntrospectionEndpoint, RevocationEndpoint
from .errors import OAuth2Error, clean_error_text, json_error_response, no_store
from .id_tokens import OpenIDCode, OpenIDDevice, OpenIDRefresh
from .jwt_access_tokens import JWTAccessTokenGenerator
from .jwt_validation import JWTBearerTokenValidator, RemoteKeySet
from .middleware import OAuthMiddleware
from .mixins import AuthorizationCodeMixin, ClientMixin, TokenMixin
from .protocol_server import ProtocolServer
from .registration import ClientConfigurationEndpoint, ClientRegistrationEndpoint
from .requests import DjangoJsonRequest, DjangoOAuth2Request
from .resource_indicators import InvalidTargetError, ResolvedResources, ResourcePolicy
from .resource_metadata import ProtectedResource
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
from .userinfo import UserInfoEndpoint

__all__ = [
    "AuthorizationCodeMixin",
    "AuthorizationServer",
    "BearerTokenValidator",
    "ClientConfigurationEndpoint",
    "ClientMixin",
    "ClientRegistrationEndpoint",
    "DjangoJsonRequest",
    "DjangoOAuth2Request",
    "IntrospectionEndpoint",
    "InvalidTargetError",
    "JWTAccessTokenGenerator",
    "JWTBearerTokenValidator",
    "OAuth2Error",
    "OAuthMiddleware",
    "OpenIDCode",
    "OpenIDDevice",
    "OpenIDRefresh",
    "PrivateKeyJWT",
    "ProtectedResource",
    "ProtocolServer",
    "RemoteKeySet",
    "ResolvedResources",
    "ResourcePolicy",
    "ResourceProtector",
    "RevocationEndpoint",
    "TokenMixin",
    "UserInfoEndpoint",
    "authorization_code_replayed",
    "claimed_client_id",
    "clean_error_text",
    "client_authenticated",
    "client_authentication_failed",
    "consent_denied",
    "consent_granted",
    "json_error_response",
    "no_store",
    "read_basic_credentials",
    "refresh_token_reused",
    "token_authenticated",
    "token_issued",
    "token_request_refused",
    "token_revoked",
]
