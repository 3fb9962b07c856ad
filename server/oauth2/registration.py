"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592) endpoints.

authlib runs the protocol steps (authenticate, validate the metadata with its claims classes,
answer); these base classes make them safe on any JSON a client sends and leave a server only
the hooks bound to its models:

- both: `get_server_metadata()`, `check_redirect_uri(uri)` and `check_client_metadata(data)`
  (the server's policies, run before authlib's checks), `stored_metadata` (the fields kept);
- registration: `open_registration(request)` (no token sent), `query_initial_access_token(value,
  request)`, then authlib's `generate_client_info`, `save_client`,
  `generate_client_registration_info`;
- configuration: `query_registration_token(value, request)`, then authlib's
  `authenticate_client`, `introspect_client`, `update_client`, `delete_client`, ...

Register them on the `AuthorizationServer` (`register_endpoint`) and answer with
`create_endpoint_response(ENDPOINT_NAME, request)`: the server reads the JSON body
(`requests.DjangoJsonRequest`) and renders every error as the RFC's JSON, never cached.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientMetadataClaims as RFC7591Claims
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint as _AuthlibRegistrationEndpoint
from authlib.oauth2.rfc7591 import InvalidClientMetadataError, InvalidRedirectURIError
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint as _AuthlibConfigurationEndpoint
from authlib.oidc.registration import ClientMetadataClaims as OpenIDClaims

from .errors import challenge_header
from .requests import DjangoJsonRequest

__all__ = [
    "ClientConfigurationEndpoint",
    "ClientRegistrationEndpoint",
    "InvalidClientMetadataError",
    "InvalidRedirectURIError",
    "MissingTokenError",
    "bearer_token",
]

# Metadata fields that hold one string (RFC 7591 §2), and those that hold arrays of strings.
STRING_METADATA = (
    "client_name",
    "scope",
    "client_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "token_endpoint_auth_method",
    "subject_type",
    "id_token_signed_response_alg",
    "userinfo_signed_response_alg",
    "token_endpoint_auth_signing_alg",
    "sector_identifier_uri",
    "jwks_uri",
    "backchannel_logout_uri",
    "frontchannel_logout_uri",
)
LIST_METADATA = ("redirect_uris", "grant_types", "response_types", "contacts", "post_logout_redirect_uris")
# Longest default_max_age accepted (about 68 years: what a 32-bit column holds).
MAX_DEFAULT_MAX_AGE = 2**31 - 1


class OpenIDClientMetadataClaims(OpenIDClaims):
    """OpenID Connect Registration §2 metadata, plus RP-Initiated Logout's
    `post_logout_redirect_uris` and Back-Channel Logout's `backchannel_logout_uri` and
    `backchannel_logout_session_required`, Front-Channel Logout's `frontchannel_logout_uri` and
    `frontchannel_logout_session_required` (their values checked by the server's own rules, as
    `check_client_metadata` runs first; authlib's rpinitiated check would refuse a loopback
    http URI of a native app with a bare ValueError)."""

    REGISTERED_CLAIMS = [
        *OpenIDClaims.REGISTERED_CLAIMS,
        "post_logout_redirect_uris",
        "backchannel_logout_uri",
        "backchannel_logout_session_required",
        "frontchannel_logout_uri",
        "frontchannel_logout_session_required",
    ]


# RFC 7591 and OpenID Connect metadata: every endpoint here validates both.
CLAIMS_CLASSES = [RFC7591Claims, OpenIDClientMetadataClaims]


def check_openid_metadata_types(data: dict) -> None:
    """default_max_age a whole number of seconds; require_auth_time and the logout
    `*_session_required` flags booleans (authlib takes true for a number and 1.5 for seconds)."""
    max_age = data.get("default_max_age")
    if max_age is not None and (
        isinstance(max_age, bool) or not isinstance(max_age, int) or not 0 <= max_age <= MAX_DEFAULT_MAX_AGE
    ):
        raise InvalidClientMetadataError(
            f"default_max_age must be a whole number of seconds from 0 to {MAX_DEFAULT_MAX_AGE}."
        )
    for name in (
        "require_auth_time",
        "backchannel_logout_session_required",
        "frontchannel_logout_session_required",
    ):
        value = data.get(name)
        if value is not None and not isinstance(value, bool):
            raise InvalidClientMetadataError(f"{name} must be true or false.")


class MissingTokenError(InvalidTokenError):
    """No credential at all: RFC 6750 §3.1 says to answer 401 without an error code in the header."""

    def get_headers(self) -> list[tuple[str, str]]:
        headers = [(k, v) for k, v in super().get_headers() if k != "WWW-Authenticate"]
        return [*headers, ("WWW-Authenticate", challenge_header("Bearer", self.realm))]


def bearer_token(request: Any) -> str | None:
    """The Bearer credential of the request's Authorization header; None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def metadata_document(request: DjangoJsonRequest) -> dict:
    """The request's JSON body, which must be an object (the client metadata, RFC 7591 §3.1)."""
    data = request.payload.data
    if not isinstance(data, dict):
        raise InvalidClientMetadataError("The client metadata must be a JSON object.")
    return data


def string_list(data: dict, key: str) -> list[str] | None:
    """`data[key]` when it is an array of strings, None when absent; else invalid_client_metadata."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidClientMetadataError(f"{key} must be an array of strings.")
    return value


class MetadataValidation:
    """RFC 7591 metadata checks shared by registration and update.

    Types first (authlib's claim validators assume well-typed JSON and crash on anything else),
    then the server's own rules, then authlib's; a JSON null is a field left out (RFC 7591 §2
    defines no null values), grant_types gets its RFC default, response_types the one its grant
    types use, and the two must agree.
    """

    realm: ClassVar[str | None] = None
    # The fields the server keeps and answers with; others are validated and dropped (RFC 7591
    # §3.2.1 allows it). None keeps every field authlib's claims classes return.
    stored_metadata: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, server: Any = None, claims_classes: list | None = None) -> None:
        super().__init__(server, claims_classes or CLAIMS_CLASSES)

    def check_redirect_uri(self, uri: str) -> None:
        """Hook: raise invalid_redirect_uri (RFC 7591 §3.2.2) for a URI the server refuses."""

    def check_client_metadata(self, data: dict) -> None:
        """Hook: raise invalid_client_metadata for metadata the server refuses (types are checked)."""

    def extract_client_metadata(self, request: DjangoJsonRequest) -> dict:
        data = metadata_document(request)
        # The server's redirect URI rules first, so a refused URI is invalid_redirect_uri, not
        # authlib's generic invalid_client_metadata.
        for uri in string_list(data, "redirect_uris") or []:
            self.check_redirect_uri(uri)
        for key in LIST_METADATA:
            string_list(data, key)
        for key in STRING_METADATA:
            if key in data and not isinstance(data[key], str):
                raise InvalidClientMetadataError(f"{key} must be a string.")
        check_openid_metadata_types(data)
        self.check_client_metadata(data)
        try:
            metadata = super().extract_client_metadata(request)
        except (KeyError, TypeError, AttributeError, ValueError):
            # authlib's claim validators assume well-typed JSON: {"jwks": {}} or {"jwks": null}
            # raised KeyError/TypeError (a 500). Bad metadata is the client's error, not ours.
            raise InvalidClientMetadataError("The client metadata is malformed.") from None
        kept = self.stored_metadata
        metadata = {
            key: value
            for key, value in metadata.items()
            if (kept is None or key in kept) and value is not None
        }
        metadata.setdefault("grant_types", ["authorization_code"])
        # RFC 7591 §2's default "code" belongs to the code grant (§2.1); a client without it
        # (client_credentials, the device grant) that leaves response_types out gets none, the
        # suitable value §3.2.1 lets the server substitute, rather than a refusal.
        code_flow = "authorization_code" in metadata["grant_types"]
        metadata.setdefault("response_types", ["code"] if code_flow else [])
        # RFC 7591 §2.1: grant types and response types must agree.
        if code_flow != ("code" in metadata["response_types"]):
            raise InvalidClientMetadataError(
                "The authorization_code grant type and the code response type go together."
            )
        return metadata


class ClientRegistrationEndpoint(MetadataValidation, _AuthlibRegistrationEndpoint):
    """RFC 7591 §3: POST a client's metadata, get the registered client back (201).

    A request without a Bearer token is `open_registration(request)`'s to allow (default: a 401
    without an error code); a token is looked up by `query_initial_access_token`. What either
    returns becomes `request.credential`.
    """

    def open_registration(self, request: DjangoJsonRequest) -> Any:
        """Hook: the credential of a registration without a token, or None to refuse it."""
        return None

    def query_initial_access_token(self, value: str, request: DjangoJsonRequest) -> Any:
        """Hook: the usable initial access token `value` designates, or None."""
        return None

    def authenticate_token(self, request: DjangoJsonRequest) -> Any:
        value = bearer_token(request)
        if value is None:
            allowance = self.open_registration(request)
            if allowance is None:
                raise MissingTokenError("Registration needs an initial access token.", realm=self.realm)
            return allowance
        token = self.query_initial_access_token(value, request)
        if token is None:
            raise InvalidTokenError(
                "The initial access token is unknown, expired, revoked or used up.", realm=self.realm
            )
        return token


class ClientConfigurationEndpoint(MetadataValidation, _AuthlibConfigurationEndpoint):
    """RFC 7592 §2: GET, PUT or DELETE a registered client with its registration access token.

    `query_registration_token(value, request)` returns the token (valid for the client the
    request names) or None; the answer is 401 either way when it is None (§2: a token for
    another client is as unknown as a made-up one).
    """

    def query_registration_token(self, value: str, request: DjangoJsonRequest) -> Any:
        """Hook: the registration access token `value` designates for the requested client, or None."""
        return None

    def authenticate_token(self, request: DjangoJsonRequest) -> Any:
        value = bearer_token(request)
        if value is None:
            raise MissingTokenError("Send the registration access token.", realm=self.realm)
        token = self.query_registration_token(value, request)
        if token is None:
            raise InvalidTokenError(
                "The registration access token is not valid for this client.", realm=self.realm
            )
        return token

    def create_update_client_response(self, client: Any, request: DjangoJsonRequest) -> Any:
        secret = metadata_document(request).get("client_secret")
        if secret is not None and not isinstance(secret, str):
            # authlib hands it to check_client_secret as is ({"client_secret": true} was a 500).
            raise InvalidRequestError("client_secret must be a string.")
        return super().create_update_client_response(client, request)
