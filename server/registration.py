"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592).

Built on authlib's two endpoints: authlib runs the protocol steps (authenticate, validate the
metadata with its claims classes, answer), these subclasses supply our credentials, our policies
and our one write path (`services.register_dynamic_client`, `update_client`, `delete_client`).
A tiny authlib server hosts them so that this module does not depend on the rest of the
protocol machinery.
"""

import json
from dataclasses import dataclass
from functools import cached_property, partial

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, JsonPayload, JsonRequest
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint as _RegistrationEndpoint
from authlib.oauth2.rfc7591 import InvalidClientMetadataError, InvalidRedirectURIError
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint as _ConfigurationEndpoint
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from server import credentials, policies, services
from server.actors import Actor
from server.models import Client, InitialAccessToken
from server.oauth2.requests import read_json_body, request_media_type

REALM = "oauth-console"
# Metadata this server stores and answers with; other RFC 7591 fields (tos_uri, jwks, ...) are
# accepted, validated by authlib and dropped, which RFC 7591 §3.2.1 allows.
STORED_METADATA = (
    "client_name",
    "redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "scope",
    "client_uri",
    "logo_uri",
    "contacts",
)
# Open registration (no initial access token) is limited to flows in which a user consents.
OPEN_REGISTRATION_GRANT_TYPES = ("authorization_code", "refresh_token")
DEFAULT_CLIENT_NAME = "Unnamed client"
# Stored and echoed on every read: a few addresses (RFC 5321 §4.5.3.1 caps one at 320 octets).
MAX_CONTACTS = 20
MAX_CONTACT_LENGTH = 320


def error_text(message: str) -> str:
    """`message` reduced to the ASCII that RFC 6749 allows in an error_description."""
    return "".join(ch if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\' else "?" for ch in message)


class MissingTokenError(InvalidTokenError):
    """No credential at all: RFC 6750 §3.1 says to answer 401 without an error code in the header."""

    def get_headers(self):
        headers = [(k, v) for k, v in super().get_headers() if k != "WWW-Authenticate"]
        return [*headers, ("WWW-Authenticate", f'Bearer realm="{REALM}"')]


def policy_error(error: policies.PolicyError):
    """The RFC 7591 error that reports a refused client setting."""
    description = error_text(str(error))
    if error.code == "invalid_redirect_uri":
        return InvalidRedirectURIError(description)
    if error.code == "invalid_token":
        return InvalidTokenError(description, realm=REALM)
    return InvalidClientMetadataError(description)


def server_metadata() -> dict:
    """What registration can ask for (also the RFC 8414 fields the metadata endpoint lists)."""
    return {
        "scopes_supported": list(policies.configured_scopes()),
        "grant_types_supported": list(policies.SUPPORTED_GRANT_TYPES),
        "response_types_supported": list(policies.SUPPORTED_RESPONSE_TYPES),
        "token_endpoint_auth_methods_supported": list(policies.SUPPORTED_AUTH_METHODS),
    }


def client_information(client: Client) -> dict:
    """A client's registered metadata as RFC 7591 §3.2.1 spells it (never a secret)."""
    info = {
        "client_id": client.client_id,
        "client_id_issued_at": client.client_id_issued_at,
        "client_name": client.name,
        "redirect_uris": client.redirect_uri_list,
        "grant_types": client.grant_type_list,
        "response_types": client.response_types.split(),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": client.scope,
    }
    if not client.is_public:
        # Secrets from registration never expire on their own (0, RFC 7591 §3.2.1).
        info["client_secret_expires_at"] = 0
    for field in ("client_uri", "logo_uri"):
        if getattr(client, field):
            info[field] = getattr(client, field)
    if client.contacts:
        info["contacts"] = client.contacts
    return info


def bearer_token(request) -> str | None:
    """The Bearer credential of the Authorization header; None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# --- requests ---------------------------------------------------------------------------------


class RegistrationPayload(JsonPayload):
    """The JSON body; bad content type or bad JSON become RFC errors, not exceptions."""

    def __init__(self, request: HttpRequest):
        self._request = request

    @cached_property
    def data(self) -> dict:
        request = self._request
        if request.method not in ("POST", "PUT"):
            return {}
        if request_media_type(request).essence != "application/json":
            raise InvalidRequestError("Send the client metadata as application/json.")
        # Size, encoding and nesting limits: a 3 MB body or 100,000 brackets are RFC errors too.
        data = read_json_body(request)
        if not isinstance(data, dict):
            raise InvalidClientMetadataError("The client metadata must be a JSON object.")
        return data


class RegistrationRequest(JsonRequest):
    """authlib's JSON request, keeping the Django request (for URLs and the path's client_id)."""

    def __init__(self, request: HttpRequest):
        super().__init__(request.method, request.build_absolute_uri(), request.headers)
        self.payload = RegistrationPayload(request)
        self.django_request = request
        self.credential = None
        self.client = None


class RegistrationServer(AuthorizationServer):
    """Just enough of an authlib server to host the two registration endpoints."""

    def create_json_request(self, request: HttpRequest) -> RegistrationRequest:
        return RegistrationRequest(request)

    def handle_response(self, status, body, headers) -> HttpResponse:
        response = HttpResponse(json.dumps(body) if isinstance(body, dict) else body, status=status)
        for key, value in headers:
            response[key] = value
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response

    def send_signal(self, name, *args, **kwargs) -> None:
        # The services send the signals that matter (client_created, client_changed, ...).
        return None


# --- credentials ------------------------------------------------------------------------------


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


def _as_str_list(data: dict, key: str) -> list[str] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidClientMetadataError(f"{key} must be an array of strings.")
    return value


def _check_people_facing_metadata(data: dict) -> None:
    """The name and the pages people are shown, by the same policy as every other door.

    authlib only checks that these URIs have a scheme and a host (javascript://host/ passes);
    policy_uri and tos_uri are dropped after this check, but a hostile value is still refused.
    """
    checks = [("client_name", policies.validate_client_name)]
    checks += [(key, partial(policies.validate_web_uri, field=key)) for key in policies.CLIENT_WEB_URI_FIELDS]
    for key, check in checks:
        value = data.get(key)
        if value is None:
            continue  # a JSON null is a field left out
        if not isinstance(value, str):
            raise InvalidClientMetadataError(f"{key} must be a string.")
        if value.strip():
            try:
                check(value)
            except policies.PolicyError as error:
                raise InvalidClientMetadataError(error_text(f"{key}: {error}")) from None


class MetadataValidation:
    """RFC 7591 metadata checks shared by registration and update."""

    def get_server_metadata(self) -> dict:
        return server_metadata()

    def extract_client_metadata(self, request: RegistrationRequest) -> dict:
        data = request.payload.data
        # Our redirect URI rules first, so a refused URI is invalid_redirect_uri (RFC 7591 §3.2.2),
        # not authlib's generic invalid_client_metadata.
        for uri in _as_str_list(data, "redirect_uris") or []:
            try:
                policies.validate_redirect_uri(uri)
            except policies.PolicyError as error:
                raise policy_error(error) from None
        for key in ("grant_types", "response_types"):
            _as_str_list(data, key)
        contacts = _as_str_list(data, "contacts") or []
        if len(contacts) > MAX_CONTACTS or any(len(contact) > MAX_CONTACT_LENGTH for contact in contacts):
            raise InvalidClientMetadataError(
                f"contacts holds at most {MAX_CONTACTS} addresses of at most {MAX_CONTACT_LENGTH} characters."
            )
        for key in ("client_name", "scope", "client_uri", "logo_uri", "token_endpoint_auth_method"):
            if key in data and not isinstance(data[key], str):
                raise InvalidClientMetadataError(f"{key} must be a string.")
        _check_people_facing_metadata(data)
        try:
            metadata = super().extract_client_metadata(request)
        except (KeyError, TypeError, AttributeError, ValueError):
            # authlib's claim validators assume well-typed JSON: {"jwks": {}} or {"jwks": null}
            # raised KeyError/TypeError (a 500). Bad metadata is the client's error, not ours.
            raise InvalidClientMetadataError("The client metadata is malformed.") from None
        # A JSON null is a field left out (RFC 7591 §2 defines no null values).
        metadata = {
            key: value for key, value in metadata.items() if key in STORED_METADATA and value is not None
        }
        metadata.setdefault("grant_types", ["authorization_code"])
        metadata.setdefault("response_types", ["code"])
        # RFC 7591 §2.1: grant types and response types must agree.
        if ("authorization_code" in metadata["grant_types"]) != ("code" in metadata["response_types"]):
            raise InvalidClientMetadataError(
                "The authorization_code grant type and the code response type go together."
            )
        return metadata


def _client_settings(metadata: dict) -> dict:
    """RFC 7591 metadata -> keyword arguments of the client services."""
    return {
        "name": (metadata.get("client_name") or "").strip() or DEFAULT_CLIENT_NAME,
        "redirect_uris": metadata.get("redirect_uris") or [],
        "grant_types": metadata["grant_types"],
        "scope": (metadata.get("scope") or "").split(),
        "token_endpoint_auth_method": metadata["token_endpoint_auth_method"],
        "client_uri": metadata.get("client_uri") or "",
        "logo_uri": metadata.get("logo_uri") or "",
        "contacts": metadata.get("contacts") or [],
    }


def _configuration_uri(request: RegistrationRequest, client: Client) -> str:
    path = reverse("oauth-client-configuration", args=[client.client_id])
    if settings.OAUTH2_ISSUER:
        return settings.OAUTH2_ISSUER + path
    return request.django_request.build_absolute_uri(path)


# --- the endpoints ----------------------------------------------------------------------------


class ClientRegistrationEndpoint(MetadataValidation, _RegistrationEndpoint):
    """POST /oauth/register: create a client from RFC 7591 metadata."""

    def authenticate_token(self, request: RegistrationRequest) -> RegistrationAllowance:
        value = bearer_token(request)
        if value is None:
            if settings.OAUTH2_OPEN_REGISTRATION:
                return RegistrationAllowance(
                    None, tuple(policies.configured_scopes()), OPEN_REGISTRATION_GRANT_TYPES
                )
            raise MissingTokenError("Registration needs an initial access token.", realm=REALM)
        token = InitialAccessToken.objects.filter(digest=credentials.digest(value)).first()
        if token is None or not token.is_usable:
            raise InvalidTokenError(
                "The initial access token is unknown, expired, revoked or used up.", realm=REALM
            )
        return RegistrationAllowance(
            token, tuple(token.allowed_scope.split()), tuple(token.allowed_grant_types.split())
        )

    def extract_client_metadata(self, request: RegistrationRequest) -> dict:
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

    def generate_client_info(self, request: RegistrationRequest) -> dict:
        # The client id and secret are made by services.create_client, in save_client.
        return {}

    def save_client(self, client_info: dict, client_metadata: dict, request: RegistrationRequest) -> Client:
        allowance: RegistrationAllowance = request.credential
        client_settings = _client_settings(client_metadata)
        method = client_settings["token_endpoint_auth_method"]
        try:
            client, secret, registration_token = services.register_dynamic_client(
                initial_access_token=allowance.initial_access_token,
                actor=allowance.actor,
                client_type=Client.Type.PUBLIC if method == "none" else Client.Type.CONFIDENTIAL,
                status=Client.Status.ACTIVE if settings.OAUTH2_DCR_AUTO_APPROVE else Client.Status.PENDING,
                **client_settings,
            )
        except policies.PolicyError as error:
            raise policy_error(error) from None
        request.issued_secret = secret
        request.issued_registration_token = registration_token
        return client

    def generate_client_registration_info(self, client: Client, request: RegistrationRequest) -> dict:
        info = client_information(client)
        if request.issued_secret is not None:
            info["client_secret"] = request.issued_secret
        info["registration_access_token"] = request.issued_registration_token
        info["registration_client_uri"] = _configuration_uri(request, client)
        return info


class ClientConfigurationEndpoint(MetadataValidation, _ConfigurationEndpoint):
    """GET, PUT, DELETE /oauth/register/<client_id> with the registration access token."""

    def create_update_client_response(self, client: Client, request: RegistrationRequest):
        secret = request.payload.data.get("client_secret")
        if secret is not None and not isinstance(secret, str):
            # authlib hands it to check_client_secret as is ({"client_secret": true} was a 500).
            raise InvalidRequestError("client_secret must be a string.")
        return super().create_update_client_response(client, request)

    def authenticate_token(self, request: RegistrationRequest) -> RegistrationAccessToken:
        value = bearer_token(request)
        if value is None:
            raise MissingTokenError("Send the registration access token.", realm=REALM)
        # The token must belong to the client named in the path: a token for another client is
        # as unknown here as a made-up one (RFC 7592 §2).
        client_id = request.django_request.registration_client_id
        plausible = len(client_id) <= 64 and client_id.isprintable()  # (PostgreSQL refuses NUL)
        client = (
            Client.objects.filter(
                client_id=client_id, registration_access_token_digest=credentials.digest(value)
            ).first()
            if plausible
            else None
        )
        if client is None:
            raise InvalidTokenError(
                "The registration access token is not valid for this client.", realm=REALM
            )
        return RegistrationAccessToken(value, client)

    def authenticate_client(self, request: RegistrationRequest) -> Client:
        return request.credential.client

    def revoke_access_token(self, request, token) -> None:
        # Unreachable: the token is stored on the client row, so no client means no token.
        return None

    def check_permission(self, client: Client, request: RegistrationRequest) -> bool:
        return True

    def introspect_client(self, client: Client) -> dict:
        return client_information(client)

    def generate_client_registration_info(self, client: Client, request: RegistrationRequest) -> dict:
        # We keep only the token's digest, so the answer repeats the token the client presented.
        return {
            "registration_client_uri": _configuration_uri(request, client),
            "registration_access_token": request.credential.value,
        }

    def extract_client_metadata(self, request: RegistrationRequest) -> dict:
        client: Client = request.credential.client
        data = request.payload.data
        # A PUT replaces the metadata (RFC 7592 §2.2); where leaving a field out cannot mean
        # "delete it", the current value stays.
        data.setdefault("token_endpoint_auth_method", client.token_endpoint_auth_method)
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

    def update_client(self, client: Client, client_metadata: dict, request: RegistrationRequest) -> Client:
        try:
            return services.update_client(
                client, actor=Actor.client(client.client_id), **_client_settings(client_metadata)
            )
        except policies.PolicyError as error:
            raise policy_error(error) from None

    def delete_client(self, client: Client, request: RegistrationRequest) -> None:
        services.delete_client(client, actor=Actor.client(client.client_id))


registration_server = RegistrationServer()
registration_server.register_endpoint(ClientRegistrationEndpoint)
registration_server.register_endpoint(ClientConfigurationEndpoint)
