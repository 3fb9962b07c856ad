"""Outbound HTTP requests to addresses someone else chose: the SSRF guard.

A client's `jwks_uri`, a webhook subscription's URL (and later back-channel logout URIs) name
a URL the server fetches on its own. Without a guard, anyone who can register a client can make
the server reach its own network: the cloud metadata service (169.254.169.254), an admin port
on 127.0.0.1, a database on 10.x. Every such request goes through `fetch` here:

- https only; no user information in the URL; ports as the URL says (default 443);
- the host name is resolved first and *every* address it resolves to must be public: private,
  loopback, link-local, shared, multicast, reserved and unspecified addresses are refused,
  unless an address falls in `OAUTH2_OUTBOUND_ALLOWED_NETWORKS` (for tests, or an operator's
  internal key server); IPv4-mapped and 6to4 IPv6 addresses are judged as the IPv4 address
  they carry;
- the connection goes to the address that was checked (no second DNS lookup a rebinding attack
  could answer differently), while TLS still verifies the certificate against the host name;
- no redirects (a 3xx is an error: a redirect is another URL, which would need its own check);
- connect and read time limits, and an overall deadline; a size limit, enforced while reading.

`fetch_json_cached` keeps a JSON document in the cache for the response's `max-age`, bounded.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3
from django.core.cache import caches

from server.conf import server_settings
from server.oauth2.digits import decimal_value

__all__ = [
    "OutboundError",
    "OutboundResponse",
    "check_address",
    "fetch",
    "fetch_json",
    "fetch_json_cached",
    "forget_cached",
    "resolve",
]

USER_AGENT = "oauth-console"
# How long a cached document is kept without (or despite) the response's max-age.
DEFAULT_CACHE_SECONDS = 300
MIN_CACHE_SECONDS = 60
MAX_CACHE_SECONDS = 24 * 3600
_CACHE_KEY = "outbound:json:v1:"
# The value is read by server.oauth2.digits (ASCII digits only, any length), not by the pattern.
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?([^\s\",]*)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


class OutboundError(Exception):
    """A request the guard refused or that failed; the message says why, for a person to act on."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def json(self):
        """The body as JSON; OutboundError when it is not JSON (UTF-8)."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise OutboundError("The response is not a JSON document.") from None


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in server_settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS]


def check_address(address: str) -> None:
    """Raise OutboundError unless the server may connect to this IP address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address carried in an IPv6 one is judged as that IPv4 address: mapped
        # (::ffff:a.b.c.d) and 6to4 (2002:aabb:ccdd::, which `is_global` calls public while it
        # reaches a.b.c.d through a relay). IPv4-compatible, NAT64 and Teredo addresses are
        # reserved or private already.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            ip = embedded
    if ip.is_unspecified or ip.is_multicast:
        raise OutboundError(f"The address {ip} cannot be connected to.")
    if any(ip in network for network in _allowed_networks()):
        return
    # Site-local IPv6 (fec0::/10, deprecated by RFC 3879 yet routed inside some networks) is
    # neither private nor reserved to `ipaddress`, and global.
    internal = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
    if not ip.is_global or internal or getattr(ip, "is_site_local", False):
        raise OutboundError(
            f"The address {ip} is private, loopback, link-local or reserved; the server does not "
            "connect to internal addresses (OAUTH2_OUTBOUND_ALLOWED_NETWORKS)."
        )


def _split_url(url: str) -> tuple[str, int, str, str]:
    """(host, port, path with query, Host header) of an https URL; OutboundError otherwise."""
    if not isinstance(url, str) or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise OutboundError("The URL is malformed.")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        raise OutboundError("The URL is malformed.") from None
    if parts.scheme.lower() != "https":
        raise OutboundError("Only https:// URLs are fetched.")
    if "@" in parts.netloc or not parts.hostname:
        raise OutboundError("The URL needs a host and no user information.")
    host = parts.hostname
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = f"[{host}]" if ":" in host else host
    if parts.port:
        host_header += f":{port}"
    return host, port, path, host_header


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, each checked (one refused address refuses them all:
    which one a client would get is the resolver's choice, an attacker's if they run the DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise OutboundError(f"The host name {host!r} does not resolve.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OutboundError(f"The host name {host!r} does not resolve.")
    for address in addresses:
        check_address(address)
    return addresses


def _ca_certs() -> str | None:
    return server_settings.OAUTH2_OUTBOUND_CA_BUNDLE or None


def _read_limited(response, *, max_bytes: int, deadline: float) -> bytes:
    # ASCII digits only, any length (server.oauth2.digits): "²".isdigit() is true and int()
    # refuses it, as it refuses 5000 digits. A length that is no number is as good as none:
    # the body is counted while it is read.
    length = decimal_value(response.headers.get("Content-Length"), ceiling=max_bytes + 1)
    if length is not None and length > max_bytes:
        raise OutboundError(f"The response is larger than {max_bytes} bytes.")
    chunks, size = [], 0
    for chunk in response.stream(8192):
        size += len(chunk)
        if size > max_bytes:
            raise OutboundError(f"The response is larger than {max_bytes} bytes.")
        if time.monotonic() > deadline:
            raise OutboundError("The response took too long.")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> OutboundResponse:
    """Request `url` through the guard; the response of any status but a redirect.

    `timeout` bounds connecting, each read, and the whole request. Raises OutboundError for a
    refused URL or address, a redirect, a body over `max_bytes`, a timeout or a network failure.
    """
    host, port, path, host_header = _split_url(url)
    addresses = resolve(host, port)
    deadline = time.monotonic() + timeout
    sent = {"Host": host_header, "User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
    last_error: Exception | None = None
    for address in addresses:
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=_ca_certs(),
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
            maxsize=1,
        )
        try:
            response = pool.urlopen(
                method, path, body=body, headers=sent, redirect=False, retries=False, preload_content=False
            )
        except urllib3.exceptions.NewConnectionError as exc:
            last_error = exc  # try the next checked address
            pool.close()
            continue
        except urllib3.exceptions.SSLError:
            pool.close()
            raise OutboundError(f"The TLS connection to {host} failed (certificate or protocol).") from None
        except (TimeoutError, urllib3.exceptions.TimeoutError):
            pool.close()
            raise OutboundError(f"{host} did not answer in time.") from None
        except urllib3.exceptions.HTTPError as exc:
            pool.close()
            raise OutboundError(f"The request to {host} failed ({type(exc).__name__}).") from None
        try:
            if 300 <= response.status < 400:
                raise OutboundError(
                    f"{host} answered with a redirect ({response.status}); redirects are not followed."
                )
            content = _read_limited(response, max_bytes=max_bytes, deadline=deadline)
        except (TimeoutError, urllib3.exceptions.TimeoutError):
            raise OutboundError(f"{host} did not answer in time.") from None
        except urllib3.exceptions.HTTPError as exc:
            raise OutboundError(f"Reading the answer of {host} failed ({type(exc).__name__}).") from None
        finally:
            response.release_conn()
            pool.close()
        return OutboundResponse(response.status, dict(response.headers), content)
    raise OutboundError(f"Could not connect to {host} ({type(last_error).__name__}).")


def fetch_json(url: str, *, max_bytes: int, timeout: float) -> tuple[object, OutboundResponse]:
    """GET a JSON document through the guard: (the document, the response). A status other
    than 200 is an OutboundError."""
    response = fetch(url, max_bytes=max_bytes, timeout=timeout, headers={"Accept": "application/json"})
    if response.status != 200:
        raise OutboundError(f"The server answered {response.status}, not 200.")
    return response.json(), response


def cache_seconds(cache_control: str | None) -> int:
    """How long to keep a response: its max-age within [MIN, MAX]_CACHE_SECONDS; no-store and
    no-cache mean the minimum (a client's keys are read on every authentication otherwise)."""
    value = cache_control or ""
    if _NO_CACHE.search(value):
        return MIN_CACHE_SECONDS
    found = _MAX_AGE.search(value)
    seconds = decimal_value(found.group(1), ceiling=MAX_CACHE_SECONDS) if found else None
    if seconds is None:  # none, or not ASCII digits ("max-age=٦٠٠" is no max-age)
        return DEFAULT_CACHE_SECONDS
    return max(MIN_CACHE_SECONDS, seconds)


def _cache_key(url: str) -> str:
    return _CACHE_KEY + hashlib.sha256(url.encode("utf-8")).hexdigest()


def fetch_json_cached(url: str, *, max_bytes: int, timeout: float) -> object:
    """`fetch_json`, kept in the default cache for the response's max-age (bounded)."""
    cache = caches["default"]
    key = _cache_key(url)
    found = cache.get(key)
    if found is not None:
        return found
    document, response = fetch_json(url, max_bytes=max_bytes, timeout=timeout)
    headers = {name.lower(): value for name, value in response.headers.items()}
    cache.set(key, document, cache_seconds(headers.get("cache-control")))
    return document


def forget_cached(url: str) -> None:
    """Drop the cached document of `url` (a client changed its jwks_uri, say)."""
    caches["default"].delete(_cache_key(url))
