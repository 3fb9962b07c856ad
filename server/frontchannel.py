"""OpenID Connect Front-Channel Logout 1.0 (§3): the pages of the clients signed in to in the
ended session that the logout page loads, each in a hidden iframe, before the browser goes on.

A client's `frontchannel_logout_uri` is framed as registered, with `iss` and `sid` added to its
query when it registered `frontchannel_logout_session_required` (§2, §3). The stored URI is judged
again by today's policy (a row from before it, or edited by hand, is not framed), and the logout
page's Content-Security-Policy `frame-src` lists exactly the origins of the URIs it frames. A URI
whose origin no CSP source can name (a host holding `;` `,` or `'`, which RFC 3986 allows and
which would have written a directive or a second policy into the header) is not framed.
"""

from urllib.parse import urlencode, urlsplit, urlunsplit

from server import policies
from server.csp_sources import csp_source_of
from server.models import Client


def frame_url(client: Client, *, issuer: str, sid: str) -> str | None:
    """The URL to frame for `client`, or None when its stored URI fails today's policy."""
    uri = client.frontchannel_logout_uri
    try:
        policies.validate_frontchannel_logout_uri(
            uri, policies.usable_redirect_uris(client.redirect_uri_list)
        )
    except policies.PolicyError:
        return None
    if frame_source(uri) is None:
        return None
    if not client.frontchannel_logout_session_required or not sid:
        return uri
    parts = urlsplit(uri)
    added = urlencode({"iss": issuer, "sid": sid})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def logout_frames(clients: list[Client], *, issuer: str, sid: str) -> list[str]:
    """The URLs the logout page frames, one per client that has a usable front-channel URI."""
    urls = (frame_url(client, issuer=issuer, sid=sid) for client in clients)
    return [url for url in urls if url]


def frame_source(url: str) -> str | None:
    """The `frame-src` source of `url`: its origin, when a CSP source can name it."""
    return csp_source_of(policies.web_origin(url))


def frame_sources(urls: list[str]) -> list[str]:
    """The Content-Security-Policy `frame-src` sources for `urls` (framed ones: each has one),
    their origins, once each."""
    return sorted({source for source in map(frame_source, urls) if source})
