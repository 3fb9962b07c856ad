"""The configured authorization server: the client lookup and token storage hooks, the grants and
endpoints it serves, and the issuer it speaks as."""

from contextlib import contextmanager

from django.urls import reverse

from server import credentials, outstanding_round_trip, policies, services, token_format
from server.bindings.client_keys import private_key_jwt
from server.bindings.device import DeviceAuthorizationEndpoint, DeviceCodeGrant
from server.bindings.endpoints import TokenIntrospection, TokenRevocation
from server.bindings.grants import AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant
from server.bindings.jwt_access_tokens import create_jwt_access_token
from server.bindings.oidc import OpenIDCode, OpenIDDevice, OpenIDRefresh, published_jwks
from server.bindings.resources import ApiResources
from server.hotpath import device_polls, known_clients, lookahead, riders, token_insert
from server.issuer import issuer_for
from server.models import MAX_CLIENT_ID_LENGTH, AuthorizationCode, Client, Token
from server.oauth2 import AuthorizationServer, provisional
from server.oauth2.errors import InvalidClientError
from server.oauth2.logout import EndSessionEndpoint
from server.oauth2.resource_indicators import issuing_for
from server.registration.endpoints import ClientConfigurationEndpoint, ClientRegistrationEndpoint


def assertion_audiences(request) -> list[str]:
    """The `aud` a client assertion may name: the token endpoint's URL and the issuer (OpenID
    Connect Core §9, RFC 7523 §3), and the URL of the endpoint it is sent to (revocation,
    introspection)."""
    django_request = getattr(request, "django_request", None)
    issuer = issuer_for(django_request)
    audiences = [issuer + reverse("oauth-token"), issuer]
    if django_request is not None and issuer + django_request.path not in audiences:
        audiences.append(issuer + django_request.path)
    return audiences


def query_client(client_id: str) -> Client | None:
    """The active client with this client_id. Pending, disabled and rejected clients are
    unknown to the protocol: they cannot authenticate, be authorized or get tokens."""
    if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
        return None
    # A device's poll loaded its client with the device authorization: no query of its own.
    client = device_polls.preloaded_client(client_id)
    if client is None and provisional.allowed():
        # No query: the token's INSERT confirms the copy this worker read (`known_clients`).
        client = known_clients.provisional_client(client_id)
    if client is None:
        # One query: the client and its unexpired secret digests, for check_client_secret (at
        # introspection and revocation, with the token the request names: `hotpath.lookahead`).
        client = lookahead.active_client(client_id)
        known_clients.remember(client)
    # The rate limiter's round trip, if it ran while the database answered
    # (`server.ratelimit.overlap`), must have answered before any credential is checked: a
    # refused request raises here, and the limiter answers it.
    outstanding_round_trip.settle()
    return client


def save_token(token: dict, request) -> Token:
    """Store an issued token (digests only). The grant has already claimed the code or refresh
    token it was exchanged for, in the same transaction."""
    grant_type = request.grant_type
    credential = getattr(request, "credential", None)
    try:
        return services.store_token(
            token,
            client=request.client,
            user=request.user if grant_type != "client_credentials" else None,
            grant_type=grant_type,
            authorization_code=credential if grant_type == "authorization_code" else None,
            parent=credential if grant_type == "refresh_token" else None,
            audience=getattr(request, "resources", None) or [],
        )
    except token_insert.ClientGone:
        raise InvalidClientError(description="The client was deleted.") from None


def generate_access_token(*, client: Client, grant_type: str, user, scope: str, **_) -> str:
    """The access token string, in the format `token_format` picks for the client and the
    resources the grant resolved (RFC 8707): a random `oat_` value, or an RFC 9068 JWT whose
    `aud` and `exp` are that audience and lifetime. Either way the token row stores its digest
    (`save_token`), so every check by digest works for both."""
    issuing = issuing_for()
    if token_format.format_for(client, issuing.resources) == "jwt":
        return create_jwt_access_token(
            client=client,
            grant_type=grant_type,
            user=user,
            scope=issuing.scope(scope),
            lifetime=issuing.lifetime or authorization_server.get_token_expires_in(client, grant_type),
            resources=issuing.resources,
        )
    return credentials.generate("access_token")


class OurAuthorizationServer(AuthorizationServer):
    """The package's server. An authorization error is redirected only to a redirect URI that
    `Client.check_redirect_uri` accepts for that client (one rule: the grant's, and the
    unsupported_response_type answer's), and only to a signed-in person (`server.views`,
    RFC 9700 §4.11.2)."""

    def issuance_unit(self):
        # On PostgreSQL the token's INSERT and its audit event's are one statement
        # (`server.hotpath.riders`); the client deleted meanwhile is found when it runs.
        return _one_statement_or_invalid_client()


@contextmanager
def _one_statement_or_invalid_client():
    try:
        with riders.one_statement():
            yield
    except token_insert.ClientGone:
        raise InvalidClientError(description="The client was deleted.") from None


def parameter_limits() -> dict[str, int]:
    """The longest value accepted per stored parameter: the length of the column that stores it
    (PostgreSQL refuses a longer value with a DataError; SQLite would store it)."""
    code = AuthorizationCode._meta
    return {
        "client_id": MAX_CLIENT_ID_LENGTH,
        "redirect_uri": policies.MAX_REDIRECT_URI_LENGTH,
        "nonce": code.get_field("nonce").max_length,
        "code_challenge": code.get_field("code_challenge").max_length,
        "code_challenge_method": code.get_field("code_challenge_method").max_length,
    }


def _build_server() -> AuthorizationServer:
    server = OurAuthorizationServer(
        query_client=query_client,
        save_token=save_token,
        parameter_limits=parameter_limits(),
        access_token_generator=generate_access_token,
        refresh_token_generator=lambda **_: credentials.generate("refresh_token"),
        resource_policy=ApiResources(),
    )
    server.register_client_auth_method("private_key_jwt", private_key_jwt(assertion_audiences))
    server.register_grant(AuthorizationCodeGrant, [OpenIDCode()])
    server.register_grant(RefreshTokenGrant, [OpenIDRefresh()])
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(DeviceCodeGrant, [OpenIDDevice()])
    server.register_endpoint(TokenRevocation)
    server.register_endpoint(TokenIntrospection)
    server.register_endpoint(DeviceAuthorizationEndpoint)
    server.register_endpoint(ClientRegistrationEndpoint)
    server.register_endpoint(ClientConfigurationEndpoint)
    server.register_endpoint(
        EndSessionEndpoint(
            published_keys=published_jwks, issuer=lambda request: issuer_for(request.django_request)
        )
    )
    return server


authorization_server = _build_server()
