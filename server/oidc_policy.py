"""OpenID Connect client metadata (OIDC Registration §2): how ID tokens and UserInfo are signed,
which algorithm a client's assertions use, and subject identifiers (public or pairwise, with the
sector identifier a pairwise `sub` is computed in, and the `sector_identifier_uri` that names it).

`server.policies` re-exports these and calls them from `validate_client_settings` (every door:
services, forms, imports, RFC 7591/7592, the operator API). Pure functions, except that a
`sector_identifier_uri` is fetched (through the SSRF guard, `server.outbound`) when it is set or
the redirect URIs it must list grow; PolicyError names the field at fault.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from server import outbound
from server.conf import server_settings
from server.oauth2.client_assertion import ASSERTION_ALGORITHMS
from server.oauth2.keys import SIGNING_ALGORITHMS
from server.policy_rules import MAX_WEB_URI_LENGTH, PolicyError, validate_redirect_uri, validate_redirect_uris

# How a client's ID tokens (and, when it asks, its UserInfo answers) may be signed; never "none".
ID_TOKEN_SIGNING_ALGORITHMS = SIGNING_ALGORITHMS
USERINFO_SIGNING_ALGORITHMS = SIGNING_ALGORITHMS
# The algorithms a private_key_jwt client may pin its assertions to.
AUTH_SIGNING_ALGORITHMS = ASSERTION_ALGORITHMS
PUBLIC_SUBJECT, PAIRWISE_SUBJECT = "public", "pairwise"
SUBJECT_TYPES = (PUBLIC_SUBJECT, PAIRWISE_SUBJECT)
# The column's size (Client.sector_identifier): a DNS name is at most 253 characters.
MAX_SECTOR_IDENTIFIER_LENGTH = 255
# The column's size (Client.frontchannel_logout_uri: policies.MAX_WEB_URI_LENGTH).
MAX_FRONTCHANNEL_URI_LENGTH = 500
# The largest sector identifier document read (a JSON array of redirect URIs).
MAX_SECTOR_DOCUMENT_BYTES = 65536
ONE_HOST_OR_SECTOR_URI = (
    "Register a sector_identifier_uri (an https URL serving a JSON array of every redirect URI) "
    "to put redirect URIs on several hosts in one sector."
)


# The OpenID Connect client metadata a client's settings hold (OIDC Registration §2, RP-Initiated
# Back-Channel and Front-Channel Logout, RFC 7591): one list for every door that shows or takes them.
OIDC_METADATA_FIELDS = (
    "id_token_signed_response_alg",
    "subject_type",
    "default_max_age",
    "require_auth_time",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "frontchannel_logout_uri",
    "frontchannel_logout_session_required",
    "userinfo_signed_response_alg",
    "token_endpoint_auth_signing_alg",
    "sector_identifier_uri",
)


def validate_id_token_signing_alg(alg: str | None) -> str:
    """RS256 (the default, which every relying party supports) or ES256; never `none`."""
    alg = alg or "RS256"
    if alg not in ID_TOKEN_SIGNING_ALGORITHMS:
        raise PolicyError(
            f"Unsupported id_token_signed_response_alg {alg!r}: use "
            f"{' or '.join(ID_TOKEN_SIGNING_ALGORITHMS)} (unsigned ID tokens are never issued).",
            field="id_token_signed_response_alg",
        )
    return alg


def validate_userinfo_signing_alg(alg: str | None) -> str:
    """ "" (UserInfo answers plain JSON, the default) or RS256/ES256 (a signed JWT); never `none`."""
    alg = alg or ""
    if alg and alg not in USERINFO_SIGNING_ALGORITHMS:
        raise PolicyError(
            f"Unsupported userinfo_signed_response_alg {alg!r}: use "
            f"{' or '.join(USERINFO_SIGNING_ALGORITHMS)}, or leave it out for plain JSON "
            "(unsigned JWTs are never issued).",
            field="userinfo_signed_response_alg",
        )
    return alg


def validate_auth_signing_alg(alg: str | None) -> str:
    """ "" (any of AUTH_SIGNING_ALGORITHMS) or the one algorithm the client's assertions must use."""
    alg = alg or ""
    if alg and alg not in AUTH_SIGNING_ALGORITHMS:
        raise PolicyError(
            f"Unsupported token_endpoint_auth_signing_alg {alg!r}: use "
            f"{', '.join(AUTH_SIGNING_ALGORITHMS)} (never none, never HMAC), or leave it out.",
            field="token_endpoint_auth_signing_alg",
        )
    return alg


def validate_subject_type(subject_type: str | None) -> str:
    """`public` (the default: the same `sub` for every client) or `pairwise` (OIDC Core §8.1)."""
    subject_type = subject_type or PUBLIC_SUBJECT
    if subject_type not in SUBJECT_TYPES:
        raise PolicyError(
            f"Unknown subject_type {subject_type!r}: use {' or '.join(SUBJECT_TYPES)}.", field="subject_type"
        )
    return subject_type


def _sector_of(uri: str) -> str:
    """The sector a redirect URI belongs to: its host (lower case); for a private-use scheme
    (`com.example.app:/callback`, RFC 8252 §7.1), the scheme, which names the app's domain."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        host = (parts.hostname or "").lower()
        if host in ("127.0.0.1", "::1", "localhost"):
            raise PolicyError(
                "A pairwise client needs a redirect URI on a host of its own: a loopback address "
                "(127.0.0.1, [::1]) is every native app's, so it cannot tell clients apart.",
                field="subject_type",
            )
        return host
    return parts.scheme.lower()


@dataclass(frozen=True)
class StoredSector:
    """What an existing client holds already: its sector, its sector_identifier_uri and the
    redirect URIs that document was found to list (its registered ones)."""

    sector: str = ""
    uri: str = ""
    listed: tuple[str, ...] = ()

    @classmethod
    def of(cls, client) -> "StoredSector":
        uri = getattr(client, "sector_identifier_uri", "") or ""
        listed = tuple(client.redirect_uri_list) if uri else ()
        return cls(client.sector_identifier or "", uri, listed)


def checked_sector_document(uri: str, redirect_uris: Iterable[str]) -> None:
    """Fetch the sector_identifier_uri through the SSRF guard (https, public addresses unless
    OAUTH2_OUTBOUND_ALLOWED_NETWORKS, no redirects, OAUTH2_OUTBOUND_TIMEOUT,
    MAX_SECTOR_DOCUMENT_BYTES) and check it is a JSON array of URIs holding every redirect URI
    (OIDC Registration §2, §5); PolicyError saying what is wrong otherwise."""
    field = "sector_identifier_uri"
    try:
        document, _response = outbound.fetch_json(
            uri, max_bytes=MAX_SECTOR_DOCUMENT_BYTES, timeout=server_settings.OAUTH2_OUTBOUND_TIMEOUT
        )
    except outbound.OutboundError as error:
        raise PolicyError(f"The sector_identifier_uri could not be read: {error}", field=field) from None
    if not isinstance(document, list) or not all(isinstance(item, str) for item in document):
        raise PolicyError("The sector_identifier_uri must serve a JSON array of URIs (strings).", field=field)
    missing = [redirect for redirect in redirect_uris if redirect not in document]
    if missing:
        raise PolicyError(
            "Every redirect URI must be listed in the sector_identifier_uri's document; it does not "
            f"list {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}.",
            field=field,
        )


def sector_settings(
    subject_type: str,
    redirect_uris: list[str],
    sector_identifier_uri: str = "",
    stored: StoredSector | None = None,
) -> dict:
    """{"sector_identifier": ..., "sector_identifier_uri": ...} to store, checked.

    A `sector_identifier_uri` (already a valid https URL: `validate_web_uri`) is fetched when it
    is new, or when a redirect URI it was not found to list is added (`stored.listed`): a later
    change must be in the document too. Removing redirect URIs fetches nothing (they were all
    listed), so taking a compromised one out never waits on the document's host. The sector is
    then the URI's host, else the redirect URIs' (`sector_identifier`).
    """
    stored = stored or StoredSector()
    if sector_identifier_uri:
        host = (urlsplit(sector_identifier_uri).hostname or "").lower()
        if len(host) > MAX_SECTOR_IDENTIFIER_LENGTH:
            raise PolicyError("The sector_identifier_uri's host is too long.", field="sector_identifier_uri")
        sector = host if subject_type == PAIRWISE_SUBJECT else stored.sector
        if stored.sector and sector != stored.sector:
            raise PolicyError(
                f"This pairwise client's sector identifier is {stored.sector}: its "
                "sector_identifier_uri must stay on that host (another host would change every "
                "user's sub at this client).",
                field="sector_identifier_uri",
            )
        unchanged = sector_identifier_uri == stored.uri and set(redirect_uris) <= set(stored.listed)
        if not unchanged:
            checked_sector_document(sector_identifier_uri, redirect_uris)
        return {"sector_identifier": sector, "sector_identifier_uri": sector_identifier_uri}
    sector = sector_identifier(subject_type, redirect_uris, stored.sector)
    return {"sector_identifier": sector, "sector_identifier_uri": ""}


def sector_identifier(subject_type: str, redirect_uris: list[str], stored: str = "") -> str:
    """The sector a pairwise client's `sub` values are computed in ("" for a client never pairwise).

    The host of the registered redirect URIs (OIDC Core §8.1), so they must all be on one host.
    `stored`: the client's sector so far; a pairwise client keeps it, because a new sector
    would change every user's `sub` at this client (its users would look like new people).
    """
    if subject_type != PAIRWISE_SUBJECT:
        return stored  # kept: turning pairwise on again must give the same sub values
    if not redirect_uris:
        raise PolicyError(
            "A pairwise client needs a redirect URI: its sector identifier is their host.",
            field="subject_type",
        )
    sectors = sorted({_sector_of(uri) for uri in redirect_uris})
    if len(sectors) > 1:
        raise PolicyError(
            "Pairwise subject identifiers need every redirect URI on one host (the sector "
            f"identifier); these span {', '.join(sectors)}. {ONE_HOST_OR_SECTOR_URI}",
            field="redirect_uris",
        )
    sector = sectors[0]
    if len(sector) > MAX_SECTOR_IDENTIFIER_LENGTH:
        raise PolicyError(
            "The redirect URIs' host is too long for a sector identifier.", field="redirect_uris"
        )
    if stored and sector != stored:
        raise PolicyError(
            f"This pairwise client's sector identifier is {stored}: its redirect URIs must stay on "
            "that host (another host would change every user's sub at this client).",
            field="redirect_uris",
        )
    return sector


def web_origin(uri: str) -> str:
    """`scheme://host[:port]` of an http(s) URI, lower case, the default port left out: what a
    Content-Security-Policy source and a browser's origin compare."""
    parts = urlsplit(uri)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    default = {"https": 443, "http": 80}.get(scheme)
    port = parts.port
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _same_origin_as_a_redirect_uri(uri: str, redirect_uris: list[str]) -> bool:
    origin = web_origin(uri)
    for registered in redirect_uris:
        if urlsplit(registered).scheme.lower() not in ("http", "https"):
            continue
        if web_origin(registered) == origin:
            return True
        # A loopback redirect URI matches any port (RFC 8252 §7.3): so does its origin here.
        theirs, ours = urlsplit(registered), urlsplit(uri)
        loopback = (theirs.hostname or "") in ("127.0.0.1", "::1")
        if loopback and (theirs.scheme, theirs.hostname) == (ours.scheme, ours.hostname):
            return True
    return False


def validate_frontchannel_logout_uri(uri: str | None, redirect_uris: list[str]) -> str:
    """The page the logout page loads in a hidden iframe (Front-Channel Logout §2): "" for none,
    else an absolute http(s) URL with a redirect URI's rules (https, http only for loopback; no
    fragment, wildcard or user info) whose scheme, host and port are those of one of the client's
    registered redirect URIs (§2: "MUST be the same"). That origin, and only it, is what the
    logout page's Content-Security-Policy lets it frame."""
    uri = (uri or "").strip()
    if not uri:
        return ""
    field = "frontchannel_logout_uri"
    if len(uri) > MAX_FRONTCHANNEL_URI_LENGTH:
        raise PolicyError(
            f"This URL is too long (at most {MAX_FRONTCHANNEL_URI_LENGTH} characters).", field=field
        )
    try:
        validate_redirect_uri(uri)
    except PolicyError as error:
        raise PolicyError(str(error), field=field) from None
    if urlsplit(uri).scheme.lower() not in ("http", "https"):
        raise PolicyError(f"{uri}: a browser loads this page: use an https:// URL.", field=field)
    if not _same_origin_as_a_redirect_uri(uri, redirect_uris):
        raise PolicyError(
            f"{uri}: the front-channel logout URI must be on the scheme, host and port of one of "
            "the client's redirect URIs.",
            field=field,
        )
    return uri


def validate_post_logout_redirect_uris(uris: Iterable[str]) -> list[str]:
    """Where logout may send the browser back to: every rule of a redirect URI applies."""
    try:
        return validate_redirect_uris(list(uris))
    except PolicyError as error:
        raise PolicyError(f"post_logout_redirect_uris: {error}", field="post_logout_redirect_uris") from None


def validate_backchannel_logout_uri(uri: str | None) -> str:
    """Where the server POSTs logout tokens (Back-Channel Logout §2.2): "" for none, else an
    absolute https URL (plain http only to a loopback address, and only with DEBUG on: the
    server, not a browser, calls it) with no fragment; a redirect URI's character rules apply.
    The address is judged again at every delivery, by the SSRF guard (server/outbound.py)."""
    uri = (uri or "").strip()
    if not uri:
        return ""
    field = "backchannel_logout_uri"
    if len(uri) > MAX_WEB_URI_LENGTH:
        raise PolicyError(f"This URL is too long (at most {MAX_WEB_URI_LENGTH} characters).", field=field)
    try:
        validate_redirect_uri(uri)
    except PolicyError as error:
        raise PolicyError(str(error), field=field) from None
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    loopback = (parts.hostname or "") in {"127.0.0.1", "::1", "localhost"}
    if scheme == "https" or (scheme == "http" and loopback and settings.DEBUG):
        return uri
    raise PolicyError(
        f"{uri}: use an https:// URL (plain http only to a loopback address, in development).", field=field
    )
