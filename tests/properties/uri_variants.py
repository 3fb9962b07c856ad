"""Registered redirect URIs and presented variants of them, for the redirect-URI properties.

Registered: what `server.policies.validate_redirect_uri` accepts (https with paths, queries and
ports; loopback http; `localhost`; RFC 8252 §7.1 private-use schemes). Variants: each mutation
takes a URI and returns a near miss, or None where it does not apply.
"""

import re

from hypothesis import strategies as st

HTTPS_HOSTS = ["app.example.com", "login.example.org", "xn--bcher-kva.example", "bücher.example"]
# The same host in its other IDN spelling (RFC 5891): a different string, so a different URI.
IDN_TWIN = {"xn--bcher-kva.example": "bücher.example", "bücher.example": "xn--bcher-kva.example"}
PATHS = ["/callback", "/cb", "/oauth2/return", "/auth/done/", "/"]
QUERIES = ["", "?tenant=a", "?tenant=a&mode=web", "?x=1"]
PRIVATE_SCHEMES = ["com.example.app", "org.example.native"]


# --- registered URIs ----------------------------------------------------------------------------


def _port(draw, *, required=False) -> str:
    if required or draw(st.booleans()):
        return f":{draw(st.integers(min_value=1024, max_value=65535))}"
    return ""


@st.composite
def https_uris(draw):
    port = draw(st.sampled_from(["", "", ":8443", ":4443"]))
    host = draw(st.sampled_from(HTTPS_HOSTS))
    return f"https://{host}{port}{draw(st.sampled_from(PATHS))}{draw(st.sampled_from(QUERIES))}"


@st.composite
def loopback_uris(draw):
    host = draw(st.sampled_from(["127.0.0.1", "[::1]", "localhost"]))
    return f"http://{host}{_port(draw)}{draw(st.sampled_from(PATHS))}{draw(st.sampled_from(QUERIES))}"


@st.composite
def private_use_uris(draw):
    # RFC 8252 §7.1: a reverse-domain scheme and one slash.
    scheme = draw(st.sampled_from(PRIVATE_SCHEMES))
    return f"{scheme}:{draw(st.sampled_from(PATHS))}{draw(st.sampled_from(QUERIES))}"


registered_uri_lists = st.lists(
    st.one_of(https_uris(), loopback_uris(), private_use_uris()), min_size=1, max_size=3, unique=True
)


# --- presented variants -------------------------------------------------------------------------
# Each mutation takes a registered URI and returns a variant, or None where it does not apply.

_AUTHORITY = re.compile(r"^(?P<scheme>[^:]+):(?P<slashes>//)?(?P<authority>[^/?#]*)(?P<rest>.*)$", re.S)


def _split(uri: str) -> tuple[str, str, str, str, str]:
    """scheme, "//" or "", authority, path, "?query" or "" (none of ours has a fragment)."""
    m = _AUTHORITY.match(uri)
    rest = m["rest"]
    path, _, query = rest.partition("?")
    return (
        m["scheme"],
        m["slashes"] or "",
        m["authority"],
        path,
        ("?" + query if query or "?" in rest else ""),
    )


def _join(scheme, slashes, authority, path, query) -> str:
    return f"{scheme}:{slashes}{authority}{path}{query}"


def _host_port(authority: str) -> tuple[str, str]:
    if authority.startswith("["):
        host, _, port = authority.partition("]")
        return host + "]", port
    host, colon, port = authority.partition(":")
    return host, colon + port


def upper_scheme(uri, draw):
    s, sl, a, p, q = _split(uri)
    return _join(s.upper(), sl, a, p, q)


def upper_host(uri, draw):
    s, sl, a, p, q = _split(uri)
    return _join(s, sl, a.upper(), p, q) if a.upper() != a else None


def upper_path(uri, draw):
    s, sl, a, p, q = _split(uri)
    return _join(s, sl, a, p.upper(), q) if p.upper() != p else None


def toggle_trailing_slash(uri, draw):
    s, sl, a, p, q = _split(uri)
    p = p[:-1] if p.endswith("/") else p + "/"
    return _join(s, sl, a, p, q)


def add_query_parameter(uri, draw):
    extra = draw(st.sampled_from(["next=https://evil.example/", "x=2", "tenant=b"]))
    return uri + ("&" if "?" in uri else "?") + extra


def remove_query(uri, draw):
    s, sl, a, p, q = _split(uri)
    if not q:
        return None
    params = q[1:].split("&")
    return _join(s, sl, a, p, "?" + "&".join(params[1:]) if len(params) > 1 else "")


def reorder_query(uri, draw):
    s, sl, a, p, q = _split(uri)
    params = q[1:].split("&") if q else []
    return _join(s, sl, a, p, "?" + "&".join(reversed(params))) if len(params) > 1 else None


def repeat_query_parameter(uri, draw):
    s, sl, a, p, q = _split(uri)
    return _join(s, sl, a, p, q + "&" + q[1:].split("&")[0]) if q else None


def add_fragment(uri, draw):
    return uri + draw(st.sampled_from(["#", "#evil", "#/callback"]))


def add_userinfo(uri, draw):
    s, sl, a, p, q = _split(uri)
    if not sl:
        return None
    return _join(s, sl, draw(st.sampled_from(["user@", "evil@", "user:pw@"])) + a, p, q)


def registered_host_as_userinfo(uri, draw):
    s, sl, a, p, q = _split(uri)
    return _join(s, sl, a + "@evil.example", p, q) if sl else None


def percent_encode_path(uri, draw):
    s, sl, a, p, q = _split(uri)
    letters = [i for i, ch in enumerate(p) if ch.isalnum()]
    if not letters:
        return None
    i = draw(st.sampled_from(letters))
    hexed = draw(st.sampled_from([f"%{ord(p[i]):02X}", f"%{ord(p[i]):02x}"]))
    return _join(s, sl, a, p[:i] + hexed + p[i + 1 :], q)


def percent_encode_slash(uri, draw):
    s, sl, a, p, q = _split(uri)
    return _join(s, sl, a, p.rstrip("/") + "%2F..%2Fevil", q)


def dot_segments(uri, draw):
    s, sl, a, p, q = _split(uri)
    variant = draw(st.sampled_from(["/x/..{p}", "/.{p}", "{p}/../evil", "{p}/.", "/..{p}"]))
    return _join(s, sl, a, variant.format(p=p), q)


def change_port(uri, draw):
    s, sl, a, p, q = _split(uri)
    if not sl:
        return None
    host, port = _host_port(a)
    choice = draw(st.sampled_from(["other", "none", "default"]))
    if choice == "none":
        if not port:
            return None
        new_port = ""
    elif choice == "default":
        new_port = ":443" if s == "https" else ":80"
    else:
        new_port = _port(draw, required=True)
    return _join(s, sl, host + new_port, p, q)


def swap_idn(uri, draw):
    s, sl, a, p, q = _split(uri)
    host, port = _host_port(a)
    return _join(s, sl, IDN_TWIN[host] + port, p, q) if host in IDN_TWIN else None


def change_scheme(uri, draw):
    s, sl, a, p, q = _split(uri)
    other = {"https": "http", "http": "https"}.get(s, "https" if sl else None)
    if other is None:
        return f"{s}://{p.lstrip('/')}{q}"  # com.example.app:/cb → com.example.app://cb
    return _join(other, sl or "//", a, p, q)


def swap_loopback_host(uri, draw):
    s, sl, a, p, q = _split(uri)
    host, port = _host_port(a)
    if host not in {"127.0.0.1", "[::1]", "localhost"}:
        return None
    other = draw(st.sampled_from([h for h in ["127.0.0.1", "[::1]", "localhost", "127.0.0.2"] if h != host]))
    return _join(s, sl, other + port, p, q)


def add_whitespace(uri, draw):
    where = draw(st.sampled_from(["lead", "trail", "tab", "newline", "encoded"]))
    return {
        "lead": " " + uri,
        "trail": uri + " ",
        "tab": uri + "\t",
        "newline": uri + "\n",
        "encoded": uri + "%20",
    }[where]


def other_host(uri, draw):
    s, sl, a, p, q = _split(uri)
    if not sl:
        return f"com.evil.app:{p}{q}"
    host, port = _host_port(a)
    return _join(s, sl, draw(st.sampled_from([host + ".evil.example", "evil.example"])) + port, p, q)


MUTATIONS = [
    upper_scheme,
    upper_host,
    upper_path,
    toggle_trailing_slash,
    add_query_parameter,
    remove_query,
    reorder_query,
    repeat_query_parameter,
    add_fragment,
    add_userinfo,
    registered_host_as_userinfo,
    percent_encode_path,
    percent_encode_slash,
    dot_segments,
    change_port,
    swap_idn,
    change_scheme,
    swap_loopback_host,
    add_whitespace,
    other_host,
]


@st.composite
def presented_variants(draw, registered: list[str]):
    """The registered URIs themselves, and every mutation of every one of them (each with its own
    random details), a quarter of them with a second random mutation on top. Every mutation in
    every example: a lenient matcher is caught by the one near miss it lets through."""
    variants = list(registered)
    for uri in registered:
        for mutation in MUTATIONS:
            variant = mutation(uri, draw)
            if variant is None:
                continue
            if draw(st.integers(min_value=0, max_value=3)) == 0:
                variant = draw(st.sampled_from(MUTATIONS))(variant, draw) or variant
            variants.append(variant)
    return list(dict.fromkeys(variants))
