"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592), bound to our models.

`server.oauth2.registration` runs the protocol (on authlib's endpoints): the JSON body, the
metadata's types, the Bearer credentials and the error answers. These subclasses supply only
what this server knows: our credentials (initial access tokens, registration access tokens kept
as digests), our policies, and our one write path (`services.register_dynamic_client`,
`update_client`, `delete_client`), which sends the events.
"""

from dataclasses import dataclass

from django.urls import reverse

from server import credentials, policies, services
from server.actors import Actor
from server.conf import server_settings
from server.models import Client, InitialAccessToken, is_well_formed_client_id
from server.oauth2.registration import ClientConfigurationEndpoint as _ConfigurationEndpoint
from server.oauth2.registration import ClientRegistrationEndpoint as _RegistrationEndpoint
from server.oauth2.registration import InvalidClientMetadataError
from server.oauth2.requests import DjangoJsonRequest

from . import metadata as our_metadata

# Open registration (no initial access token) is limited to flows in which a user consents.
OPEN_REGISTRATION_GRANT_TYPES = ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class RegistrationAllowance:
    """What one registration may ask for: an initial access token's limits, or open registration's."""

    initial_access_token: InitialAccessToken | None
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]

    @property
    def actor(self) -> Actor:
        if self.initial_access_token is None:
            return Actor.system("open-registration")
        return Actor.system(f"initial-access-token:{self.initial_access_token.prefix}")


@dataclass(frozen=True)
class RegistrationAccessToken:
    """An RFC 7592 registration access token: valid for exactly one client."""

    value: str
    client: Client

    def check_client(self, client: Client) -> bool:
        return client.pk == self.client.pk


def _configuration_uri(request: DjangoJsonRequest, client: Client) -> str:
    path = reverse("oauth-client-configuration", args=[client.client_id])
    if server_settings.OAUTH2_ISSUER:
        return server_settings.OAUTH2_ISSUER + path
    return request.django_request.build_absolute_uri(path)


class OurMetadata:
    """Our policies and stored fields, for both endpoints."""

    realm = our_metadata.REALM
    stored_metadata = our_metadata.STORED_METADATA

    def get_server_metadata(self) -> dict:
        return our_metadata.server_metadata()

    def check_redirect_uri(self, uri: str) -> None:
        our_metadata.check_redirect_uri(uri)

    def check_client_metadata(self, data: dict) -> None:
        our_metadata.check_client_metadata(data)


class ClientRegistrationEndpoint(OurMetadata, _RegistrationEndpoint):
    """POST /oauth/register: create a client from RFC 7591 metadata."""

    def open_registration(self, request: DjangoJsonRequest) -> RegistrationAllowance | None:
        if not server_settings.OAUTH2_OPEN_REGISTRATION:
            return None
        return RegistrationAllowance(None, tuple(policies.configured_scopes()), OPEN_REGISTRATION_GRANT_TYPES)

    def query_initial_access_token(
        self, value: str, request: DjangoJsonRequest
    ) -> RegistrationAllowance | None:
        token = InitialAccessToken.objects.filter(digest=credentials.digest(value)).first()
        if token is None or not token.is_usable:
            return None
        return RegistrationAllowance(
            token, tuple(token.allowed_scope.split()), tuple(token.allowed_grant_types.split())
        )

    def extract_client_metadata(self, request: DjangoJsonRequest) -> dict:
        metadata = super().extract_client_metadata(request)
        allowance: RegistrationAllowance = request.credential
        if "scope" not in metadata:
            # RFC 7591 §2: with no scope asked for, the server may choose a default.
            metadata["scope"] = " ".join(allowance.scopes)
        beyond = set(metadata["scope"].split()) - set(allowance.scopes)
        if beyond:
            raise InvalidClientMetadataError(
                f"This registration may not ask for scope(s): {', '.join(sorted(beyond))}."
            )
        beyond = set(metadata["grant_types"]) - set(allowance.grant_types)
        if beyond:
            raise InvalidClientMetadataError(
                f"This registration may not ask for grant type(s): {', '.join(sorted(beyond))}."
            )
        return metadata

    def generate_client_info(self, request: DjangoJsonRequest) -> dict:
        # The client id and secret are made by services.create_client, in save_client.
        return {}

    def save_client(self, client_info: dict, client_metadata: dict, request: DjangoJsonRequest) -> Client:
        allowance: RegistrationAllowance = request.credential
        client_settings = our_metadata.client_settings(client_metadata)
        method = client_settings["token_endpoint_auth_method"]
        try:
            client, secret, registration_token = services.register_dynamic_client(
                initial_access_token=allowance.initial_access_token,
                actor=allowance.actor,
                client_type=Client.Type.PUBLIC if method == "none" else Client.Type.CONFIDENTIAL,
                status=Client.Status.ACTIVE
                if server_settings.OAUTH2_DCR_AUTO_APPROVE
                else Client.Status.PENDING,
                **client_settings,
            )
        except policies.PolicyError as error:
            raise our_metadata.policy_error(error) from None
        request.issued_secret = secret
        request.issued_registration_token = registration_token
        return client

    def generate_client_registration_info(self, client: Client, request: DjangoJsonRequest) -> dict:
        info = our_metadata.client_information(client)
        if request.issued_secret is not None:
            info["client_secret"] = request.issued_secret
        info["registration_access_token"] = request.issued_registration_token
        info["registration_client_uri"] = _configuration_uri(request, client)
        return info


class ClientConfigurationEndpoint(OurMetadata, _ConfigurationEndpoint):
    """GET, PUT, DELETE /oauth/register/<client_id> with the registration access token."""

    def query_registration_token(
        self, value: str, request: DjangoJsonRequest
    ) -> RegistrationAccessToken | None:
        # The token must belong to the client named in the path: a token for another client is
        # as unknown here as a made-up one (RFC 7592 §2).
        client_id = request.django_request.registration_client_id
        if not is_well_formed_client_id(client_id):
            return None
        client = Client.objects.filter(
            client_id=client_id, registration_access_token_digest=credentials.digest(value)
        ).first()
        return None if client is None else RegistrationAccessToken(value, client)

    def authenticate_client(self, request: DjangoJsonRequest) -> Client:
        return request.credential.client

    def revoke_access_token(self, request, token) -> None:
        # Unreachable: the token is stored on the client row, so no client means no token.
        return None

    def check_permission(self, client: Client, request: DjangoJsonRequest) -> bool:
        return True

    def introspect_client(self, client: Client) -> dict:
        return our_metadata.client_information(client)

    def generate_client_registration_info(self, client: Client, request: DjangoJsonRequest) -> dict:
        # We keep only the token's digest, so the answer repeats the token the client presented.
        return {
            "registration_client_uri": _configuration_uri(request, client),
            "registration_access_token": request.credential.value,
        }

    def extract_client_metadata(self, request: DjangoJsonRequest) -> dict:
        client: Client = request.credential.client
        # A PUT replaces the metadata (RFC 7592 §2.2); where leaving a field out cannot mean
        # "delete it", the current value stays.
        request.payload.data.setdefault("token_endpoint_auth_method", client.token_endpoint_auth_method)
        metadata = super().extract_client_metadata(request)
        metadata.setdefault("scope", client.scope)
        metadata.setdefault("client_name", client.name)
        if (metadata["token_endpoint_auth_method"] == "none") != client.is_public:
            raise InvalidClientMetadataError(
                "The token_endpoint_auth_method cannot turn a confidential client public or back."
            )
        # Without a record of the initial access token's limits, an update may narrow a client's
        # scopes and grant types but never widen them; widening is an operator's decision.
        beyond = set(metadata["scope"].split()) - set(client.scope_list)
        beyond |= set(metadata["grant_types"]) - set(client.grant_type_list)
        if beyond:
            raise InvalidClientMetadataError(
                f"An update cannot add scopes or grant types: {', '.join(sorted(beyond))}."
            )
        return metadata

    def update_client(self, client: Client, client_metadata: dict, request: DjangoJsonRequest) -> Client:
        # Unless operators trust every registration (OAUTH2_DCR_AUTO_APPROVE), a change to what
        # end users judge an approved app by waits for an operator, as a portal app's does; the
        # answer then reads the approved values (RFC 7592 §2.2: the server may replace values).
        write = (
            services.update_client
            if server_settings.OAUTH2_DCR_AUTO_APPROVE
            else services.propose_client_changes
        )
        try:
            return write(
                client, actor=Actor.client(client.client_id), **our_metadata.client_settings(client_metadata)
            )
        except policies.PolicyError as error:
            raise our_metadata.policy_error(error) from None

    def delete_client(self, client: Client, request: DjangoJsonRequest) -> None:
        services.delete_client(client, actor=Actor.client(client.client_id))
