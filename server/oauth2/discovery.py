"""OpenID Connect Discovery 1.0 (`/.well-known/openid-configuration`) on authlib's metadata model.

The document is the RFC 8414 authorization server metadata plus OpenID's fields, so the two
documents agree on everything they share (issuer, endpoints, scopes, methods) by construction.
"""

from __future__ import annotations

from collections.abc import Iterable

from authlib.oidc.discovery import OpenIDProviderMetadata
from authlib.oidc.rpinitiated import OpenIDProviderMetadata as RPInitiatedMetadata

from .keys import SIGNING_ALGORITHMS

__all__ = ["openid_configuration"]


def openid_configuration(
    oauth_metadata: dict,
    *,
    jwks_uri: str,
    userinfo_endpoint: str,
    claims_supported: Iterable[str],
    id_token_signing_alg_values_supported: Iterable[str] = SIGNING_ALGORITHMS,
    end_session_endpoint: str | None = None,
    backchannel_logout: bool = False,
    frontchannel_logout: bool = False,
    userinfo_signing_alg_values_supported: Iterable[str] = SIGNING_ALGORITHMS,
    subject_types_supported: Iterable[str] = ("public",),
    claims_parameter_supported: bool = False,
) -> dict:
    """The OpenID Provider metadata built on `oauth_metadata` (RFC 8414's document, which should
    already name `jwks_uri`); validated by authlib (ValueError when a required field is wrong).
    `end_session_endpoint` (RP-Initiated Logout §2.1) and `backchannel_logout` (Back-Channel
    Logout §2.1, with `sid`) and `frontchannel_logout` (Front-Channel Logout §3, with `iss` and
    `sid`) add the logout fields."""
    metadata = {
        **oauth_metadata,
        "jwks_uri": jwks_uri,
        "userinfo_endpoint": userinfo_endpoint,
        "subject_types_supported": list(subject_types_supported),
        "id_token_signing_alg_values_supported": list(id_token_signing_alg_values_supported),
        "userinfo_signing_alg_values_supported": list(userinfo_signing_alg_values_supported),
        "claims_supported": sorted(
            {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", *claims_supported}
        ),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": claims_parameter_supported,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "prompt_values_supported": ["none", "login", "consent"],
    }
    if end_session_endpoint:
        metadata["end_session_endpoint"] = end_session_endpoint
    metadata["frontchannel_logout_supported"] = frontchannel_logout
    metadata["frontchannel_logout_session_supported"] = frontchannel_logout
    metadata["backchannel_logout_supported"] = backchannel_logout
    metadata["backchannel_logout_session_supported"] = backchannel_logout
    OpenIDProviderMetadata(metadata).validate()
    if end_session_endpoint:
        RPInitiatedMetadata(metadata).validate_end_session_endpoint()
    return metadata
