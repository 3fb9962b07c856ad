"""What a client may do: redirect URI rules, scopes, grant types, PKCE; what it may call itself.

Pure functions over plain values, shared by the models (what authlib calls at request time) and
by every form, import and registration path (what is accepted when a client is written), and by
the templates that show a client's name and links (what is safe to render).
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from server.conf import server_settings
from server.oauth2.bodies import has_control_characters

# Client.Type's values (the model takes them from here: server.models imports this module).
CONFIDENTIAL_CLIENT = "confidential"
PUBLIC_CLIENT = "public"
SUPPORTED_GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
SUPPORTED_RESPONSE_TYPES = ("code",)
SUPPORTED_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
PUBLIC_CLIENT_GRANT_TYPES = ("authorization_code", "refresh_token")
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "::1")
MAX_REDIRECT_URI_LENGTH = 2000
MAX_CLIENT_NAME_LENGTH = 100
# The column's size (Client.client_uri, Client.logo_uri): a longer value would fail in the database.
MAX_WEB_URI_LENGTH = 500
# RFC 7591 §2: the pages about a client that people may be sent to (or, for the logo, that a
# browser would fetch). We store client_uri and logo_uri; registration checks all four.
CLIENT_WEB_URI_FIELDS = ("client_uri", "logo_uri", "policy_uri", "tos_uri")
# Unicode categories a name or URI must not hold: controls, format characters (bidi overrides such
# as U+202E, zero-width characters), line and paragraph separators, lone surrogates. A name with
# them can read differently from what an operator approved; a URI with them is not a URI.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_WEB_URL_SYNTAX = URLValidator(schemes=["https"])


class PolicyError(ValueError):
    """A client setting that the server refuses; the message is for a person to act on."""

    def __init__(self, message: str, *, field: str = "", code: str = "invalid_client_metadata"):
        super().__init__(message)
        self.field = field
        self.code = code


def configured_scopes() -> dict[str, str]:
    """Scope name -> description shown on the consent page."""
    return dict(server_settings.OAUTH2_SCOPES)


def has_invisible_characters(text: str) -> bool:
    """True when `text` holds a control, format (bidi override, zero-width) or separator character."""
    return any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text)


# ASCII characters RFC 3986 never allows in a URI (they must be percent-encoded): a URL holding
# one is either broken or built to break out of an HTML attribute or a log line.
_NOT_IN_URIS = frozenset('"<>`{}|^\\')


def has_characters_not_allowed_in_uris(text: str) -> bool:
    """True when `text` holds a character RFC 3986 excludes from URIs (quote, angle brackets ...)."""
    return any(ch in _NOT_IN_URIS for ch in text)


def validate_client_name(name: str) -> str:
    """Return the name, stripped, if people may be shown it; else raise PolicyError saying why."""
    name = (name or "").strip()
    if not name or len(name) > MAX_CLIENT_NAME_LENGTH:
        raise PolicyError(f"A client name has 1 to {MAX_CLIENT_NAME_LENGTH} characters.", field="name")
    if has_invisible_characters(name) or any(ch.isspace() and ch != " " for ch in name):
        raise PolicyError(
            "A client name cannot contain line breaks, tabs, control characters or invisible "
            "formatting characters (such as right-to-left overrides).",
            field="name",
        )
    return name


def validate_web_uri(uri: str, *, field: str) -> str:
    """Return `uri` (stripped; "" for none) if it may be stored as a client's page, else raise.

    A page people are linked to (client_uri, policy_uri, tos_uri) or a logo: an absolute
    https:// URL with a host, no user information, no spaces or invisible characters, at most
    MAX_WEB_URI_LENGTH characters. Plain http is refused even on loopback: the RFC 8252
    exception is for redirect URIs of native apps, not for links shown to other people.
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


def _is_loopback(parts) -> bool:
    return parts.scheme == "http" and (parts.hostname or "") in {"127.0.0.1", "::1"}


# RFC 8252 §7.3: a loopback IP literal over plain http, where only the port may differ. The
# pattern is matched against the raw string, so nothing a URL parser normalises (scheme case,
# leading spaces, an empty fragment, a host like "[::1].evil.example") can make two URIs equal.
_LOOPBACK_REDIRECT = re.compile(r"http://(127\.0\.0\.1|\[::1\])(?::\d{1,5})?((?:[/?][^#\s]*)?)")


def _loopback_without_port(uri: str) -> str | None:
    """`uri` with its port removed when it is a loopback redirect URI, else None."""
    found = _LOOPBACK_REDIRECT.fullmatch(uri)
    return f"http://{found.group(1)}{found.group(2)}" if found else None


def redirect_uri_matches(requested: str, registered: list[str]) -> bool:
    """Exact string comparison (RFC 9700 §4.1.3), except that a registered loopback
    `http://127.0.0.1` or `http://[::1]` URI matches any port (RFC 8252 §7.3): the two strings
    must be equal once the port is removed from both, nothing else."""
    if not requested:
        return False
    if requested in registered:
        return True
    portless = _loopback_without_port(requested)
    return portless is not None and any(_loopback_without_port(uri) == portless for uri in registered)


def validate_redirect_uri(uri: str) -> str:
    """Return `uri` if it may be registered, else raise PolicyError saying why.

    https anywhere, http only for loopback addresses (RFC 8252 §7.3); private-use schemes for
    native apps (`com.example.app:/callback`, RFC 8252 §7.1); no fragment, no wildcard.
    """
    uri = uri.strip()
    code = "invalid_redirect_uri"
    if not uri:
        raise PolicyError("A redirect URI cannot be empty.", field="redirect_uris", code=code)
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        raise PolicyError("This redirect URI is too long.", field="redirect_uris", code=code)
    if any(ch.isspace() for ch in uri) or has_control_characters(uri) or has_invisible_characters(uri):
        raise PolicyError(
            f"{uri!r} contains spaces, control or invisible characters.", field="redirect_uris", code=code
        )
    if "\\" in uri:
        raise PolicyError(f"{uri}: a backslash is not allowed in a URI.", field="redirect_uris", code=code)
    if has_characters_not_allowed_in_uris(uri):
        raise PolicyError(
            f'{uri}: contains a character URIs cannot hold (" < > ` {{ }} | ^); percent-encode it.',
            field="redirect_uris",
            code=code,
        )
    if "*" in uri:
        raise PolicyError(
            f"{uri}: wildcards are not allowed; register each URI exactly.", field="redirect_uris", code=code
        )
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise PolicyError(f"{uri} is not a valid URI.", field="redirect_uris", code=code) from None
    if "#" in uri:
        raise PolicyError(
            f"{uri}: a redirect URI must not contain a fragment (#...).", field="redirect_uris", code=code
        )
    if not parts.scheme:
        raise PolicyError(f"{uri} is not an absolute URI.", field="redirect_uris", code=code)
    if "@" in parts.netloc:
        # Whatever the scheme: credentials in a URI end up in logs and on pages.
        raise PolicyError(
            f"{uri}: user information (user@host) is not allowed.", field="redirect_uris", code=code
        )
    scheme = parts.scheme.lower()
    if scheme == "https":
        if not parts.hostname:
            raise PolicyError(f"{uri} has no host.", field="redirect_uris", code=code)
        return uri
    if scheme == "http":
        if _is_loopback(parts) or parts.hostname == "localhost":
            return uri
        raise PolicyError(
            f"{uri}: plain http is only allowed for loopback addresses (127.0.0.1, [::1]); use https.",
            field="redirect_uris",
            code=code,
        )
    if scheme in {"javascript", "data", "file", "vbscript", "ftp", "ws", "wss"}:
        raise PolicyError(f"{uri}: the {scheme} scheme is not allowed.", field="redirect_uris", code=code)
    if "." not in scheme:
        # RFC 8252 §7.1: private-use schemes must be reverse domain names.
        raise PolicyError(
            f"{uri}: a custom scheme must be a reverse domain name you control (com.example.app:/cb).",
            field="redirect_uris",
            code=code,
        )
    return uri


def validate_redirect_uris(uris: list[str]) -> list[str]:
    return [validate_redirect_uri(uri) for uri in uris if uri.strip()]


def validate_scopes(scopes: list[str]) -> list[str]:
    """Every scope must be configured in OAUTH2_SCOPES."""
    known = configured_scopes()
    unknown = [s for s in scopes if s not in known]
    if unknown:
        raise PolicyError(
            f"Unknown scope(s): {', '.join(sorted(set(unknown)))}. Known scopes: {', '.join(known)}.",
            field="scope",
            code="invalid_client_metadata",
        )
    return list(dict.fromkeys(scopes))


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


def default_scope(client_scopes: list[str]) -> str:
    """The scope a request that names none gets: OAUTH2_DEFAULT_SCOPES that the client may have.

    "" when none of them is allowed to the client (the request is then refused).
    """
    configured = server_settings.OAUTH2_DEFAULT_SCOPES
    return " ".join(dict.fromkeys(s for s in configured if s in client_scopes))


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
) -> ClientSettings:
    """Check a client's settings against the server's policies; raise PolicyError if any is refused.

    Every path that writes a client's settings calls this (services, forms, imports).

    `name` is checked only when given (forms check it as a field of their own first).
    """
    if name is not None:
        name = validate_client_name(name)
    client_uri = validate_web_uri(client_uri, field="client_uri")
    logo_uri = validate_web_uri(logo_uri, field="logo_uri")
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
    scopes = validate_scopes(list(scope))
    method = token_endpoint_auth_method or ("none" if public else "client_secret_basic")
    if method not in SUPPORTED_AUTH_METHODS:
        raise PolicyError(
            f"Unsupported token endpoint auth method {method!r}.", field="token_endpoint_auth_method"
        )
    if public != (method == "none"):
        raise PolicyError(
            "Public clients authenticate with 'none'; confidential clients with a secret.",
            field="token_endpoint_auth_method",
        )
    return ClientSettings(
        "\n".join(uris), " ".join(grants), " ".join(scopes), method, name, client_uri, logo_uri
    )
