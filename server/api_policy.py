"""What an API (resource server) may be: its identifier, name, scopes, token format, lifetime.

Pure functions, shared by the admin, the import and the services (one policy for every door).
The identifier is an RFC 8707 resource indicator and becomes the audience of tokens and, for an
API this server's ResourceProtector publishes, the RFC 9728 `resource`: an absolute https URI
(http only on loopback, for development) with a host that is a name or an IP address
(`policy_rules.invalid_host`), without a fragment (RFC 8707 §2), without a query (§2 "SHOULD
NOT") and without user information.
"""

import re
from urllib.parse import urlsplit

from server.api_model import MAX_API_IDENTIFIER_LENGTH, MAX_API_NAME_LENGTH, Api
from server.conf import server_settings
from server.policy_rules import (
    HOST_RULE,
    PolicyError,
    has_characters_not_allowed_in_uris,
    has_invisible_characters,
    invalid_host,
    validate_display_name,
)

# RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
MAX_SCOPE_NAME_LENGTH = 64
MAX_SCOPE_DESCRIPTION_LENGTH = 200
MAX_SCOPES_PER_API = 100
MAX_ACCESS_TOKEN_LIFETIME = 86400 * 30
TOKEN_FORMATS = tuple(Api.TokenFormat.values)
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def validate_api_identifier(identifier: str) -> str:
    """Return the identifier (stripped) if it may name an API, else raise PolicyError."""
    value = (identifier or "").strip()
    field = "identifier"
    if not value:
        raise PolicyError("An API needs an identifier (an absolute https:// URI).", field=field)
    if len(value) > MAX_API_IDENTIFIER_LENGTH:
        raise PolicyError(f"An identifier has at most {MAX_API_IDENTIFIER_LENGTH} characters.", field=field)
    if any(ch.isspace() for ch in value) or has_invisible_characters(value):
        raise PolicyError(
            "An identifier cannot contain spaces, control or invisible characters.", field=field
        )
    if has_characters_not_allowed_in_uris(value) or not value.isascii():
        raise PolicyError(
            "An identifier holds only the characters of a URI (ASCII, no quotes or brackets).", field=field
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise PolicyError("This is not a valid URI.", field=field) from None
    if "#" in value:
        raise PolicyError("An identifier must not contain a fragment (RFC 8707 section 2).", field=field)
    if "?" in value:
        raise PolicyError("An identifier should not contain a query (RFC 8707 section 2).", field=field)
    if "@" in parts.netloc:
        raise PolicyError("An identifier must not contain user information (user@host).", field=field)
    if (bad_host := invalid_host(parts.netloc)) is not None:
        raise PolicyError(f"An identifier's host ({bad_host[:64]}) is not valid; {HOST_RULE}.", field=field)
    host = (parts.hostname or "").lower()
    secure = parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK)
    if not secure or not host:
        raise PolicyError("An identifier is an absolute https:// URI with a host.", field=field)
    # Imported here: apis reads the models, which this pure module is imported by.
    from server.apis import default_identifier

    if value.rstrip("/") == default_identifier(None).rstrip("/"):
        # Its tokens would be read as the default API's (an empty audience), and the reverse.
        raise PolicyError(
            f"{value} is the identifier of this server's own API (the default API): choose another.",
            field=field,
        )
    return value


def validate_api_name(name: str) -> str:
    """Return the name (stripped) if people may be shown it (the consent page does)."""
    return validate_display_name(name, label="An API name", max_length=MAX_API_NAME_LENGTH)


def server_vocabulary() -> frozenset[str]:
    """The scope names this server's own API and the operator API read (OAUTH2_SCOPES and
    OAUTH2_OPERATOR_SCOPES). Another API never defines one: a token naming that API and this
    server's would carry it here (the December review's finding 1). `ApiResources.resolve`
    applies the same rule at every request, to rows stored before it or settings grown since."""
    return frozenset(server_settings.OAUTH2_SCOPES) | frozenset(server_settings.OAUTH2_OPERATOR_SCOPES)


def validate_api_scopes(scopes, *, default_api: bool = False) -> dict[str, str]:
    """Return {scope: description} if every scope is an RFC 6749 §3.3 scope-token with a
    description people may be shown (the consent page shows it), and, for any API but the
    default one (whose scopes are OAUTH2_SCOPES: check server.E014), none is a scope of this
    server's own vocabulary (`server_vocabulary`)."""
    if not isinstance(scopes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in scopes.items()
    ):
        raise PolicyError("Scopes are a mapping of scope name to description.", field="scopes")
    if len(scopes) > MAX_SCOPES_PER_API:
        raise PolicyError(f"An API defines at most {MAX_SCOPES_PER_API} scopes.", field="scopes")
    cleaned: dict[str, str] = {}
    vocabulary = frozenset() if default_api else server_vocabulary()
    for name, description in scopes.items():
        name = name.strip()
        if name in vocabulary:
            raise PolicyError(
                f"The scope {name[:64]!r} is one of this server's own (OAUTH2_SCOPES or the operator "
                "scopes): an API defines scopes of its own names, e.g. orders:read.",
                field="scopes",
            )
        if not _SCOPE_TOKEN.fullmatch(name) or len(name) > MAX_SCOPE_NAME_LENGTH:
            raise PolicyError(
                f"A scope name has 1 to {MAX_SCOPE_NAME_LENGTH} printable ASCII characters, "
                'without spaces, quotes (") or backslashes (RFC 6749 section 3.3).',
                field="scopes",
            )
        description = description.strip()
        if len(description) > MAX_SCOPE_DESCRIPTION_LENGTH or has_invisible_characters(description):
            raise PolicyError(
                f"A scope description has at most {MAX_SCOPE_DESCRIPTION_LENGTH} characters, "
                "without control or invisible characters.",
                field="scopes",
            )
        cleaned[name] = description or name
    return cleaned


def parse_scope_lines(text: str) -> dict[str, str]:
    """The admin's text form: one `scope: description` (or `scope`) per line; a scope name may
    itself hold colons (`orders:read: See your orders`), so the separator is colon and space."""
    scopes: dict[str, str] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, _, description = line.strip().partition(": ")
        if name.strip() in scopes:
            raise PolicyError(f"The scope {name.strip()[:64]!r} is listed twice.", field="scopes")
        scopes[name.strip()] = description.strip()
    return validate_api_scopes(scopes)


def validate_token_format(value: str) -> str:
    if value not in TOKEN_FORMATS:
        raise PolicyError(f"The token format is one of: {', '.join(TOKEN_FORMATS)}.", field="token_format")
    return value


def validate_access_token_lifetime(value) -> int | None:
    """Seconds (1 to 30 days), or None for the server's default."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ACCESS_TOKEN_LIFETIME:
        raise PolicyError(
            f"A token lifetime is 1 to {MAX_ACCESS_TOKEN_LIFETIME} seconds, or empty for the default.",
            field="access_token_lifetime",
        )
    return value


def validate_resource_servers(clients: list) -> list:
    """The clients named as an API's resource servers (they introspect its tokens, RFC 7662),
    if each may be: introspection needs client authentication (RFC 7662 §2.1), so no public
    client. Not checked here: that each exists (the services look them up)."""
    public = [client.client_id for client in clients if client.is_public]
    if public:
        raise PolicyError(
            f"A resource server introspects with client authentication: {public[0][:64]!r} is a "
            "public client (no secret).",
            field="resource_servers",
        )
    return clients
