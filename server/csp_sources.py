"""The Content-Security-Policy source expressions a page adds for a client's URI (the sign-in
page's and the logout confirmation's `form-action`, the front-channel logout page's `frame-src`).

A source is written into a response header, and the URI it comes from is a client's: a host may
hold what RFC 3986 allows in a name (`;` `,` `'`), which in a header ends a directive (`;`),
starts another policy (`,`) or quotes a keyword. So a source is made only when it is one of the
two forms CSP can express here, and nothing else ever reaches the header: scheme://host[:port]
with a host of letters, digits, dots and hyphens, or a private-use scheme (RFC 8252 §7.1) as a
scheme-source. An IPv6 literal, which CSP host-sources cannot express, gets none either.
"""

import re
from urllib.parse import urlsplit

_HOST_SOURCE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_SCHEME_SOURCE = re.compile(r"[a-z][a-z0-9+.-]*:")


def csp_source_of(uri: str) -> str | None:
    """The CSP source expression that allows a form's submission to end at, or a frame to load,
    `uri` (a registered redirect, post-logout redirect or front-channel logout URI):
    scheme://host[:port], or a private-use scheme; None when CSP cannot express it."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        source = f"{parts.scheme}://{parts.netloc}"
        return source if _HOST_SOURCE.fullmatch(source) else None
    source = parts.scheme + ":"
    return source if _SCHEME_SOURCE.fullmatch(source) else None
