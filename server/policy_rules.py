"""The rules every client setting shares, and the redirect URI rules: the refusal (PolicyError),
the characters no name or URI may hold, what the host of any URL may be (`invalid_host`), and
what a redirect URI (or a post-logout redirect URI) may be and how a requested one matches.
`server.policies` re-exports all of it; import it from there.
"""

import ipaddress
import re
import unicodedata
from encodings import idna
from urllib.parse import urlsplit

from server.oauth2.bodies import has_control_characters

LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "::1")
MAX_REDIRECT_URI_LENGTH = 2000

# Unicode categories a name or URI must not hold: controls, format characters (bidi overrides such
# as U+202E, zero-width characters), line and paragraph separators, lone surrogates. A name with
# them can read differently from what an operator approved; a URI with them is not a URI.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


class PolicyError(ValueError):
    """A client setting that the server refuses; the message is for a person to act on."""

    def __init__(self, message: str, *, field: str = "", code: str = "invalid_client_metadata"):
        super().__init__(message)
        self.field = field
        self.code = code


# The column's size (Client.client_uri, Client.logo_uri and the logout URIs): a longer value
# would fail in the database.
MAX_WEB_URI_LENGTH = 500


def could_be_identifier(value: str, *, max_length: int) -> bool:
    """Whether `value` could be an identifier the server stores (a client_id, a key's kid): 1 to
    `max_length` printable characters. An identifier from a URL is looked up only if it could:
    PostgreSQL refuses a NUL in a query's parameter (`/api/v1/clients/%00` was a 500, not the 404
    an unknown id is), and no stored identifier holds a control character or a lone surrogate."""
    return 0 < len(value) <= max_length and value.isprintable()


def has_invisible_characters(text: str) -> bool:
    """True when `text` holds a control, format (bidi override, zero-width) or separator character."""
    return any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text)


def validate_display_name(name, *, label: str, max_length: int = 100) -> str:
    """The one rule for a name people are shown (a client's, an API's, a webhook's): return it
    stripped, or raise PolicyError (field "name") saying why. `label` starts the message
    ("A client name"). Only the plain space may separate words: a tab, a line break or another
    Unicode space (no-break, em ...) lets a name look like something an operator did not approve,
    and so does a control, bidi override or zero-width character."""
    value = name.strip() if isinstance(name, str) else ""
    if not value or len(value) > max_length:
        raise PolicyError(f"{label} has 1 to {max_length} characters.", field="name")
    if has_invisible_characters(value) or any(ch.isspace() and ch != " " for ch in value):
        raise PolicyError(
            f"{label} cannot contain line breaks, tabs, control characters or invisible "
            "formatting characters (such as right-to-left overrides).",
            field="name",
        )
    return value


# ASCII characters RFC 3986 never allows in a URI (they must be percent-encoded): a URL holding
# one is either broken or built to break out of an HTML attribute or a log line.
_NOT_IN_URIS = frozenset('"<>`{}|^\\')


def has_characters_not_allowed_in_uris(text: str) -> bool:
    """True when `text` holds a character RFC 3986 excludes from URIs (quote, angle brackets ...)."""
    return any(ch in _NOT_IN_URIS for ch in text)


# What a URL's host may be (RFC 3986 §3.2.2 reg-name narrowed to RFC 1123 host names, or an IP
# literal): every URL a client registers is held to it, because a host is copied where its other
# characters mean something (`;` ends a CSP directive, `,` starts another policy, `'` quotes a
# keyword) and a browser reads `%2e`, `127.1` or `0x7f.1` as a different host from the one shown.
HOST_RULE = (
    "a host is a name of letters, digits, hyphens and dots (labels of 1 to 63 characters, "
    "no hyphen at either end), an IPv4 address (192.0.2.1) or an IPv6 address in brackets ([2001:db8::1])"
)
MAX_HOST_NAME_LENGTH = 253
_LDH_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# The authority of a private-use scheme (com.example.app://callback) is read by the app, never by
# DNS, TLS or a CSP host-source (a scheme-source names it): an underscore may stay there.
_PRIVATE_USE_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
# A last label a browser reads as a number (WHATWG URL "ends in a number"): the host is then an
# IPv4 address, which only its dotted-decimal form may spell.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9A-Fa-f]*")
# The full stops IDNA reads as "." (RFC 3490 §3.1); not a separator this rule takes.
_IDNA_DOTS = frozenset("\u3002\uff0e\uff61")
# host[:port] once the user information is gone (every caller refuses "@" first).
_AUTHORITY = re.compile(r"(\[[^\[\]]*\]|[^\[\]:]*)(?::[0-9]*)?")


def _ascii_label(label: str) -> str:
    """An ASCII label as it is; a Unicode one as its A-label (`xn--...`, RFC 5891), or "" when it
    has none (IDNA refuses it, or it maps to plain ASCII: a look-alike of another name)."""
    if label.isascii():
        return label
    if any(ch in _IDNA_DOTS for ch in label):
        return ""  # a browser (UTS #46) reads it as a dot: the URL would name another host
    try:
        encoded = idna.ToASCII(label).decode("ascii")
    except UnicodeError:
        return ""
    return encoded if encoded[:4].lower() == "xn--" else ""


def invalid_host(netloc: str, *, private_use: bool = False) -> str | None:
    """The host of `netloc` (a URL's authority, without user information) when it is not one a URL
    may name (HOST_RULE), else None; an empty host is None (the callers say where one is needed).

    A name: dot-separated LDH labels (RFC 1123 §2.1), 1 to 63 characters each, no hyphen at either
    end, at most 253 in all, one trailing dot allowed (the same name, absolute); a Unicode label
    when it has an A-label (the URL is kept as written: redirect URIs match exactly); an
    underscore only in a private-use scheme's authority. An IPv4 address in dotted decimal (a
    name whose last label is a number is one); an IPv6 address in brackets, without a zone id.
    """
    shape = _AUTHORITY.fullmatch(netloc)
    if shape is None:
        return netloc
    host = shape.group(1)
    if not host:
        return None
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return host
        return host if "%" in host else None
    labels = [_ascii_label(label) for label in host.removesuffix(".").split(".")]
    pattern = _PRIVATE_USE_LABEL if private_use else _LDH_LABEL
    if len(".".join(labels)) > MAX_HOST_NAME_LENGTH or not all(pattern.fullmatch(label) for label in labels):
        return host
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return host
    return None


def _is_loopback(parts) -> bool:
    return parts.scheme == "http" and (parts.hostname or "") in {"127.0.0.1", "::1"}


# RFC 8252 §7.3: a loopback IP literal over plain http, where only the port may differ. The
# pattern is matched against the raw string, so nothing a URL parser normalises (scheme case,
# leading spaces, an empty fragment, a host like "[::1].evil.example") can make two URIs equal.
# The port is ASCII digits ([0-9], not \\d, which takes "٨٠" too: server.oauth2.digits).
_LOOPBACK_REDIRECT = re.compile(r"http://(127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?((?:[/?][^#\s]*)?)")


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
    bad_host = invalid_host(parts.netloc, private_use=scheme not in ("http", "https"))
    if bad_host is not None:
        raise PolicyError(
            f"{uri}: the host {bad_host} is not valid; {HOST_RULE}.", field="redirect_uris", code=code
        )
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


def usable_redirect_uris(registered: list[str]) -> list[str]:
    """The registered URIs that today's policy accepts, exactly as stored: the only ones an
    authorization response may be sent to. Every door validates what it stores, but a row may
    predate the policy (or be restored, migrated, edited by hand); a URI the policy refuses is
    treated as not registered, so the request gets an error page, never a redirect there."""
    usable = []
    for uri in registered:
        try:
            if validate_redirect_uri(uri) == uri:
                usable.append(uri)
        except PolicyError:
            continue
    return usable
