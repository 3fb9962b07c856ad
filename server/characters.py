"""Characters a client's name or URI must not hold (pure functions; `server.policies` applies them
and re-exports them)."""

import unicodedata

# Unicode categories a name or URI must not hold: controls, format characters (bidi overrides such
# as U+202E, zero-width characters), line and paragraph separators, lone surrogates. A name with
# them can read differently from what an operator approved; a URI with them is not a URI.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# ASCII characters RFC 3986 never allows in a URI (they must be percent-encoded): a URL holding
# one is either broken or built to break out of an HTML attribute or a log line.
_NOT_IN_URIS = frozenset('"<>`{}|^\\')


def has_invisible_characters(text: str) -> bool:
    """True when `text` holds a control, format (bidi override, zero-width) or separator character."""
    return any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text)


def has_characters_not_allowed_in_uris(text: str) -> bool:
    """True when `text` holds a character RFC 3986 excludes from URIs (quote, angle brackets ...)."""
    return any(ch in _NOT_IN_URIS for ch in text)
