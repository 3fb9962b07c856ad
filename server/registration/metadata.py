"""What registration reads and answers: RFC 7591 metadata to and from our Client model.

The checks our policies add to RFC 7591's (redirect URIs, the names and pages people are
shown, contacts), the fields we keep, and a client as RFC 7591 §3.2.1 spells it.
"""

from functools import partial

from server import jwks_policy, policies
from server.models import Client
from server.oauth2.errors import InvalidTokenError, clean_error_text
from server.oauth2.registration import InvalidClientMetadataError, InvalidRedirectURIError

REALM = "oauth-console"
# Metadata this server stores and answers with; other RFC 7591 fields (software_id, ...) are
# accepted, validated by authlib and dropped, which RFC 7591 §3.2.1 allows.
STORED_METADATA = (
    "client_name",
    "redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "scope",
    *policies.CLIENT_WEB_URI_FIELDS,  # client_uri, logo_uri, policy_uri, tos_uri
    "contacts",
    "jwks",
    "jwks_uri",
    # Every OpenID Connect field a client's settings hold is registrable (one list, the policy's).
    *policies.OIDC_METADATA_FIELDS,
)
DEFAULT_CLIENT_NAME = "Unnamed client"
# Stored and echoed on every read: a few addresses (RFC 5321 §4.5.3.1 caps one at 320 octets).
MAX_CONTACTS = 20
MAX_CONTACT_LENGTH = 320


def policy_error(error: policies.PolicyError):
    """The RFC 7591 error that reports a refused client setting."""
    description = clean_error_text(str(error))
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


def check_redirect_uri(uri: str) -> None:
    """Our redirect URI rules, as invalid_redirect_uri (RFC 7591 §3.2.2)."""
    try:
        policies.validate_redirect_uri(uri)
    except policies.PolicyError as error:
        raise policy_error(error) from None


def check_client_metadata(data: dict) -> None:
    """Contacts, and the name and pages people are shown, by the same policy as every other door.

    authlib only checks that these URIs have a scheme and a host (javascript://host/ passes).
    """
    contacts = data.get("contacts") or []
    if len(contacts) > MAX_CONTACTS or any(len(contact) > MAX_CONTACT_LENGTH for contact in contacts):
        raise InvalidClientMetadataError(
            f"contacts holds at most {MAX_CONTACTS} addresses of at most {MAX_CONTACT_LENGTH} characters."
        )
    # Before authlib's checks, whose errors would only name the field.
    if data.get("token_endpoint_auth_method") == "client_secret_jwt":
        raise InvalidClientMetadataError(clean_error_text(jwks_policy.CLIENT_SECRET_JWT_REFUSED, limit=400))
    if data.get("jwks") is not None:
        if not isinstance(data["jwks"], dict):
            raise InvalidClientMetadataError("jwks must be a JSON object (a JWK Set with a keys array).")
        try:
            jwks_policy.checked_jwks(data["jwks"])
        except jwks_policy.ClientKeyError as error:
            raise InvalidClientMetadataError(clean_error_text(str(error), limit=400)) from None
    checks = [
        ("client_name", policies.validate_client_name),
        ("subject_type", policies.validate_subject_type),
        ("id_token_signed_response_alg", policies.validate_id_token_signing_alg),
        ("userinfo_signed_response_alg", policies.validate_userinfo_signing_alg),
        ("token_endpoint_auth_signing_alg", policies.validate_auth_signing_alg),
        ("jwks_uri", partial(policies.validate_web_uri, field="jwks_uri")),
        # Its document is fetched by the policy when the client is written (services).
        ("sector_identifier_uri", partial(policies.validate_web_uri, field="sector_identifier_uri")),
        ("backchannel_logout_uri", policies.validate_backchannel_logout_uri),
        (
            "frontchannel_logout_uri",
            partial(policies.validate_frontchannel_logout_uri, redirect_uris=_uris(data)),
        ),
    ]
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
                raise InvalidClientMetadataError(clean_error_text(f"{key}: {error}")) from None
    try:
        policies.validate_post_logout_redirect_uris(data.get("post_logout_redirect_uris") or [])
    except policies.PolicyError as error:
        raise InvalidClientMetadataError(clean_error_text(str(error))) from None


def _uris(data: dict) -> list[str]:
    """The request's redirect_uris when they are a list of strings (authlib checks them later)."""
    uris = data.get("redirect_uris")
    return [u for u in uris if isinstance(u, str)] if isinstance(uris, list) else []


def client_settings(metadata: dict) -> dict:
    """RFC 7591 metadata -> keyword arguments of the client services."""
    return {
        "name": (metadata.get("client_name") or "").strip() or DEFAULT_CLIENT_NAME,
        "redirect_uris": metadata.get("redirect_uris") or [],
        "grant_types": metadata["grant_types"],
        "scope": (metadata.get("scope") or "").split(),
        "token_endpoint_auth_method": metadata["token_endpoint_auth_method"],
        **{field: metadata.get(field) or "" for field in policies.CLIENT_WEB_URI_FIELDS},
        "contacts": metadata.get("contacts") or [],
        "id_token_signed_response_alg": metadata.get("id_token_signed_response_alg") or "RS256",
        "subject_type": metadata.get("subject_type") or "public",
        "default_max_age": metadata.get("default_max_age"),
        "require_auth_time": bool(metadata.get("require_auth_time")),
        "post_logout_redirect_uris": metadata.get("post_logout_redirect_uris") or [],
        "jwks": metadata.get("jwks"),
        "jwks_uri": metadata.get("jwks_uri") or "",
        "backchannel_logout_uri": metadata.get("backchannel_logout_uri") or "",
        "backchannel_logout_session_required": bool(metadata.get("backchannel_logout_session_required")),
        "frontchannel_logout_uri": metadata.get("frontchannel_logout_uri") or "",
        "frontchannel_logout_session_required": bool(metadata.get("frontchannel_logout_session_required")),
        "userinfo_signed_response_alg": metadata.get("userinfo_signed_response_alg") or "",
        "token_endpoint_auth_signing_alg": metadata.get("token_endpoint_auth_signing_alg") or "",
        "sector_identifier_uri": metadata.get("sector_identifier_uri") or "",
    }


def client_information(client: Client) -> dict:
    """A client's registered metadata as RFC 7591 §3.2.1 spells it (never a secret)."""
    info = {
        "client_id": client.client_id,
        "client_id_issued_at": client.client_id_issued_at,
        "client_name": client.name,
        "redirect_uris": client.redirect_uri_list,
        "grant_types": client.grant_type_list,
        "response_types": client.response_type_list,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": client.scope,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "subject_type": client.subject_type,
        "require_auth_time": client.require_auth_time,
    }
    if not client.is_public and not client.uses_private_key_jwt:
        # Secrets from registration never expire on their own (0, RFC 7591 §3.2.1).
        info["client_secret_expires_at"] = 0
    if client.jwks:
        info["jwks"] = client.jwks
    for field in (
        *policies.CLIENT_WEB_URI_FIELDS,
        "jwks_uri",
        "userinfo_signed_response_alg",
        "token_endpoint_auth_signing_alg",
        "sector_identifier_uri",
    ):
        if getattr(client, field):
            info[field] = getattr(client, field)
    if client.contacts:
        info["contacts"] = client.contacts
    if client.default_max_age is not None:
        info["default_max_age"] = client.default_max_age
    if client.post_logout_redirect_uris:
        info["post_logout_redirect_uris"] = client.post_logout_redirect_uris.split()
    if client.backchannel_logout_uri:
        info["backchannel_logout_uri"] = client.backchannel_logout_uri
        info["backchannel_logout_session_required"] = client.backchannel_logout_session_required
    if client.frontchannel_logout_uri:
        info["frontchannel_logout_uri"] = client.frontchannel_logout_uri
        info["frontchannel_logout_session_required"] = client.frontchannel_logout_session_required
    return info
