"""What a client may do: redirect URI rules, scopes, grant types, PKCE; what it may call itself.
(The refusal, the character rules and the redirect URI rules live in `server.policy_rules`,
re-exported here.)

Pure functions over plain values, shared by the models (what authlib calls at request time) and
by every form, import and registration path (what is accepted when a client is written), and by
the templates that show a client's name and links (what is safe to render).
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from server import jwks_policy, outbound
from server.conf import server_settings
from server.jwks_policy import PRIVATE_KEY_JWT
from server.oidc_policy import (  # noqa: F401 - re-exported: every caller imports them from here
    AUTH_SIGNING_ALGORITHMS,
    ID_TOKEN_SIGNING_ALGORITHMS,
    OIDC_METADATA_FIELDS,
    SUBJECT_TYPES,
    USERINFO_SIGNING_ALGORITHMS,
    StoredSector,
    sector_identifier,
    sector_settings,
    validate_auth_signing_alg,
    validate_backchannel_logout_uri,
    validate_frontchannel_logout_uri,
    validate_id_token_signing_alg,
    validate_post_logout_redirect_uris,
    validate_subject_type,
    validate_userinfo_signing_alg,
    web_origin,
)
from server.policy_rules import (  # noqa: F401 - re-exported: every caller imports them from here
    HOST_RULE,
    LOOPBACK_HOSTS,
    MAX_REDIRECT_URI_LENGTH,
    MAX_WEB_URI_LENGTH,
    PolicyError,
    could_be_identifier,
    has_characters_not_allowed_in_uris,
    has_invisible_characters,
    invalid_host,
    redirect_uri_matches,
    usable_redirect_uris,
    validate_display_name,
    validate_redirect_uri,
    validate_redirect_uris,
)

# Client.Type's values (the model takes them from here: server.models imports this module).
CONFIDENTIAL_CLIENT = "confidential"
PUBLIC_CLIENT = "public"
# RFC 8628's grant type (server.oauth2.device imports authlib's, which this module cannot).
DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
SUPPORTED_GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT_TYPE)
SUPPORTED_RESPONSE_TYPES = ("code",)
SUPPORTED_AUTH_METHODS = ("client_secret_basic", "client_secret_post", PRIVATE_KEY_JWT, "none")
PUBLIC_CLIENT_GRANT_TYPES = ("authorization_code", "refresh_token")
# Client.default_max_age is a PositiveIntegerField: what every supported database can hold.
MAX_DEFAULT_MAX_AGE = 2**31 - 1
MAX_CLIENT_NAME_LENGTH = 100
# RFC 7591 §2: the pages about a client that people may be sent to (or, for the logo, that a
# browser would fetch). Stored, answered, and checked by validate_web_uri at every door.
CLIENT_WEB_URI_FIELDS = ("client_uri", "logo_uri", "policy_uri", "tos_uri")
_WEB_URL_SYNTAX = URLValidator(schemes=["https"])


def configured_scopes() -> dict[str, str]:
    """Scope name -> description shown on the consent page."""
    return dict(server_settings.OAUTH2_SCOPES)


def validate_client_name(name: str) -> str:
    """Return the name, stripped, if people may be shown it; else raise PolicyError saying why."""
    return validate_display_name(name, label="A client name", max_length=MAX_CLIENT_NAME_LENGTH)


def validate_web_uri(uri: str, *, field: str) -> str:
    """Return `uri` (stripped; "" for none) if it may be stored as a client's page, else raise.

    A page people are linked to (client_uri, policy_uri, tos_uri) or a logo: an absolute
    https:// URL with a host (`invalid_host`: a name, an IPv4 or a bracketed IPv6 address), no
    user information, no #fragment, no spaces or invisible characters, at most MAX_WEB_URI_LENGTH
    characters. Plain http is refused even on loopback: the RFC 8252 exception is for redirect
    URIs of native apps, not for links shown to other people.
    """
    uri = (uri or "").strip()
    if not uri:
        return ""
    if len(uri) > MAX_WEB_URI_LENGTH:
        raise PolicyError(f"This URL is too long (at most {MAX_WEB_URI_LENGTH} characters).", field=field)
    if any(ch.isspace() for ch in uri) or has_invisible_characters(uri):
        raise PolicyError("This URL contains spaces, control or invisible characters.", field=field)
    if "\\" in uri:
        raise PolicyError("This URL contains a backslash; browsers read it differently.", field=field)
    if has_characters_not_allowed_in_uris(uri):
        raise PolicyError(
            'This URL contains a character URLs cannot hold (" < > ` { } | ^); percent-encode it.',
            field=field,
        )
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise PolicyError("This is not a valid URL.", field=field) from None
    if parts.scheme.lower() != "https":
        raise PolicyError("Use an https:// address.", field=field)
    if "@" in parts.netloc:
        raise PolicyError("This URL must not contain user information (user@host).", field=field)
    if (host := invalid_host(parts.netloc)) is not None:
        raise PolicyError(f"This URL's host ({host[:64]}) is not valid; {HOST_RULE}.", field=field)
    if parts.fragment or uri.endswith("#"):
        # RFC 7591's registration refuses one too (authlib's claims): one rule at every door.
        raise PolicyError(
            "Remove the #fragment from this URL (a browser never sends it to the server).", field=field
        )
    try:
        _WEB_URL_SYNTAX(uri)
    except ValidationError:
        raise PolicyError("This is not a valid https:// URL.", field=field) from None
    return uri


def displayable_web_uri(uri: str) -> str:
    """`uri` if it passes `validate_web_uri`, else "": what a page may put in an href.

    Rows stored before the policy (or written around it) are checked again when shown.
    """
    try:
        return validate_web_uri(uri, field="")
    except PolicyError:
        return ""


def validate_webhook_url(url: str) -> str:
    """Return `url` (stripped) if a webhook subscription may deliver to it, else raise PolicyError.

    The web URI rules (https, a host, no user information, no spaces or invisible characters,
    at most MAX_WEB_URI_LENGTH characters), no fragment (it is never sent), and a host that is
    not an IP address the SSRF guard refuses (`server.outbound`); a host name is checked again
    at every delivery, when it resolves.
    """
    url = (url or "").strip()
    if not url:
        raise PolicyError("A webhook needs an https:// URL to deliver to.", field="url")
    url = validate_web_uri(url, field="url")
    parts = urlsplit(url)
    try:
        ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        return url  # a host name: checked when it resolves, at every delivery
    try:
        outbound.check_address(parts.hostname)
    except outbound.OutboundError as error:
        raise PolicyError(str(error), field="url") from None
    return url


def operator_scopes() -> dict[str, str]:
    """The operator API's scopes, name -> meaning (never offered on the consent page)."""
    return dict(server_settings.OAUTH2_OPERATOR_SCOPES)


def validate_scopes(scopes: list[str], *, operator_scopes_allowed: Iterable[str] = ()) -> list[str]:
    """Every scope must be in OAUTH2_SCOPES, or be an operator scope (OAUTH2_OPERATOR_SCOPES) this
    door may grant (`operator_scopes_allowed`: none for developers and registration)."""
    known = configured_scopes()
    operator = operator_scopes()
    unknown = [s for s in scopes if s not in known and s not in operator]
    if unknown:
        raise PolicyError(
            f"Unknown scope(s): {', '.join(sorted(set(unknown)))}. Known scopes: {', '.join(known)}.",
            field="scope",
            code="invalid_client_metadata",
        )
    refused = sorted({s for s in scopes if s in operator and s not in known} - set(operator_scopes_allowed))
    if refused:
        raise PolicyError(f"Only an operator holding them grants {', '.join(refused)}.", field="scope")
    return list(dict.fromkeys(scopes))


def check_operator_scopes_within(client_scopes: Iterable[str], allowed: Iterable[str]) -> None:
    """A door changes a client, or hands out its credentials, only if it could grant every
    operator scope the client holds: its caller would gain them by taking the client over."""
    if beyond := sorted(set(client_scopes) & set(operator_scopes()) - set(allowed)):
        held = ", ".join(beyond)
        raise PolicyError(
            f"This client holds {held}: only an operator holding them may change it.", field="scope"
        )


def validate_grant_types(grant_types: list[str], *, public: bool) -> list[str]:
    unknown = [g for g in grant_types if g not in SUPPORTED_GRANT_TYPES]
    if unknown:
        raise PolicyError(
            f"Unsupported grant type(s): {', '.join(sorted(set(unknown)))}. "
            f"Supported: {', '.join(SUPPORTED_GRANT_TYPES)}.",
            field="grant_types",
        )
    if not grant_types:
        raise PolicyError("Choose at least one grant type.", field="grant_types")
    if public and "client_credentials" in grant_types:
        raise PolicyError(
            "A public client has no secret, so it cannot use client_credentials.", field="grant_types"
        )
    return list(dict.fromkeys(grant_types))


# An OpenID Connect request is one that names `openid` (OIDC Core §3.1.2.1): never a default,
# or a request would become one after its scope was resolved, past the checks that read the scope
# as sent (redirect_uri required, max_age, prompt, claims) and with an ID token nobody asked for.
NEVER_DEFAULT_SCOPES = frozenset({"openid"})


def default_scope(client_scopes: list[str]) -> str:
    """The scope a request that names none gets: OAUTH2_DEFAULT_SCOPES that the client may have,
    never `openid` (NEVER_DEFAULT_SCOPES; check server.W011).

    "" when none of them is allowed to the client (the request is then refused).
    """
    configured = server_settings.OAUTH2_DEFAULT_SCOPES
    return " ".join(
        dict.fromkeys(s for s in configured if s in client_scopes and s not in NEVER_DEFAULT_SCOPES)
    )


def allowed_scope(client_scopes: list[str], requested: str | None) -> str | None:
    """The scope to grant: the requested scopes the client is allowed.

    With no scope requested, the configured default scopes the client may have (RFC 6749 §3.3
    "pre-defined default"), never everything the client may have: an omitted scope must not
    ask for more than the consent page shows. None when there is no default: authlib then
    answers invalid_scope. The grants refuse rather than narrow (server.oauth2.grants._ScopeCheck):
    a requested scope this leaves out is `invalid_scope` there.
    """
    if not requested:
        return default_scope(client_scopes) or None
    wanted = requested.split()
    return " ".join(dict.fromkeys(s for s in wanted if s in client_scopes))


# --- a client's settings as a whole -----------------------------------------------------------


@dataclass(frozen=True)
class ClientSettings:
    """Validated, normalised client settings, ready to store."""

    redirect_uris: str
    grant_types: str
    scope: str
    token_endpoint_auth_method: str
    name: str | None = None
    client_uri: str = ""
    logo_uri: str = ""
    policy_uri: str = ""
    tos_uri: str = ""
    id_token_signed_response_alg: str = "RS256"
    subject_type: str = "public"
    default_max_age: int | None = None
    require_auth_time: bool = False
    post_logout_redirect_uris: str = ""
    jwks: dict | None = None
    jwks_uri: str = ""
    backchannel_logout_uri: str = ""
    backchannel_logout_session_required: bool = False
    frontchannel_logout_uri: str = ""
    frontchannel_logout_session_required: bool = False
    sector_identifier: str = ""
    sector_identifier_uri: str = ""
    userinfo_signed_response_alg: str = ""
    token_endpoint_auth_signing_alg: str = ""


def validate_default_max_age(seconds) -> int | None:
    """None (no default) or a whole number of seconds, 0 to MAX_DEFAULT_MAX_AGE."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_DEFAULT_MAX_AGE:
        raise PolicyError(
            f"default_max_age is a whole number of seconds from 0 to {MAX_DEFAULT_MAX_AGE}, or empty.",
            field="default_max_age",
        )
    return seconds


def validate_client_settings(
    *,
    client_type: str,
    redirect_uris: Iterable[str],
    grant_types: Iterable[str],
    scope: Iterable[str],
    token_endpoint_auth_method: str | None = None,
    name: str | None = None,
    client_uri: str = "",
    logo_uri: str = "",
    policy_uri: str = "",
    tos_uri: str = "",
    id_token_signed_response_alg: str | None = None,
    subject_type: str | None = None,
    default_max_age: int | None = None,
    require_auth_time: bool = False,
    post_logout_redirect_uris: Iterable[str] = (),
    operator_scopes_allowed: Iterable[str] = (),
    jwks=None,
    jwks_uri: str = "",
    backchannel_logout_uri: str = "",
    backchannel_logout_session_required: bool = False,
    frontchannel_logout_uri: str = "",
    frontchannel_logout_session_required: bool = False,
    userinfo_signed_response_alg: str | None = None,
    token_endpoint_auth_signing_alg: str | None = None,
    sector_identifier_uri: str = "",
    stored_sector: StoredSector | None = None,
) -> ClientSettings:
    """Check a client's settings against the server's policies; raise PolicyError if any is refused.

    Every path that writes a client's settings calls this (services, forms, imports).

    `name` is checked only when given (forms check it as a field of their own first).
    `operator_scopes_allowed`: see `validate_scopes`. A client holding one has client_credentials
    as its one grant and no redirect URI: no user sees them on a consent page or holds them.
    `stored_sector`: an existing client's (`StoredSector.of(client)`): a pairwise client keeps its
    sector, and its sector_identifier_uri is fetched again only when the redirect URIs grow. The
    fetch comes last, once everything else passed.
    """
    if name is not None:
        name = validate_client_name(name)
    pages = {"client_uri": client_uri, "logo_uri": logo_uri, "policy_uri": policy_uri, "tos_uri": tos_uri}
    pages = {field: validate_web_uri(uri, field=field) for field, uri in pages.items()}
    if client_type not in (CONFIDENTIAL_CLIENT, PUBLIC_CLIENT):
        raise PolicyError(
            f"Unknown client type {client_type!r}: use confidential or public.", field="client_type"
        )
    public = client_type == PUBLIC_CLIENT
    uris = validate_redirect_uris(list(redirect_uris))
    grants = validate_grant_types(list(grant_types), public=public)
    if "authorization_code" in grants and not uris:
        raise PolicyError(
            "The authorization_code grant needs at least one redirect URI.",
            field="redirect_uris",
            code="invalid_redirect_uri",
        )
    scopes = validate_scopes(list(scope), operator_scopes_allowed=operator_scopes_allowed)
    if set(scopes) & set(operator_scopes()) and (grants != ["client_credentials"] or uris):
        message = "Operator scopes are for a machine client: client_credentials only, no redirect URI."
        raise PolicyError(message, field="scope")
    method = token_endpoint_auth_method or ("none" if public else "client_secret_basic")
    try:
        jwks_uri = validate_web_uri(jwks_uri, field="jwks_uri")
        jwks, jwks_uri = jwks_policy.checked_client_keys(method, jwks, jwks_uri)
    except jwks_policy.ClientKeyError as error:
        raise PolicyError(str(error), field=error.field) from None
    if method not in SUPPORTED_AUTH_METHODS:
        raise PolicyError(
            f"Unsupported token endpoint auth method {method!r}.", field="token_endpoint_auth_method"
        )
    if public != (method == "none"):
        raise PolicyError(
            "Public clients authenticate with 'none'; confidential clients with a secret or private_key_jwt.",
            field="token_endpoint_auth_method",
        )
    return ClientSettings(
        "\n".join(uris),
        " ".join(grants),
        " ".join(scopes),
        method,
        name,
        **pages,
        id_token_signed_response_alg=validate_id_token_signing_alg(id_token_signed_response_alg),
        subject_type=validate_subject_type(subject_type),
        default_max_age=validate_default_max_age(default_max_age),
        require_auth_time=bool(require_auth_time),
        post_logout_redirect_uris="\n".join(validate_post_logout_redirect_uris(post_logout_redirect_uris)),
        jwks=jwks,
        jwks_uri=jwks_uri,
        backchannel_logout_uri=validate_backchannel_logout_uri(backchannel_logout_uri),
        backchannel_logout_session_required=bool(backchannel_logout_session_required),
        frontchannel_logout_uri=validate_frontchannel_logout_uri(frontchannel_logout_uri, uris),
        frontchannel_logout_session_required=bool(frontchannel_logout_session_required),
        userinfo_signed_response_alg=validate_userinfo_signing_alg(userinfo_signed_response_alg),
        token_endpoint_auth_signing_alg=validate_auth_signing_alg(token_endpoint_auth_signing_alg),
        # Last: it may fetch the sector_identifier_uri, worth doing only for settings otherwise good.
        **sector_settings(
            validate_subject_type(subject_type),
            uris,
            validate_web_uri(sector_identifier_uri, field="sector_identifier_uri"),
            stored_sector,
        ),
    )
