"""The SSRF guard (server/outbound.py): what the server refuses to connect to, and how it reads."""

import json
import re
import socket
import time

import pytest
import time_machine

from server import outbound
from tests.ids import plain_id

KB = 1024


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/jwks",
        "https://127.1.2.3:8443/jwks",
        "https://10.0.0.5/jwks",
        "https://172.16.0.1/jwks",
        "https://192.168.1.1/jwks",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/jwks",
        "https://[fe80::1]/jwks",
        "https://[fd00::1]/jwks",
        "https://[::ffff:127.0.0.1]/jwks",
        "https://[::ffff:169.254.169.254]/jwks",
        "https://100.64.0.1/jwks",
        "https://0.0.0.0/jwks",
        "https://224.0.0.1/jwks",
        "https://240.0.0.1/jwks",
        # An IPv4 address carried inside an IPv6 one (the December review, finding 3): 6to4
        # (2002::/16), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96), Teredo (2001::/32).
        "https://[2002:a9fe:a9fe::]/jwks",
        "https://[2002:7f00:1::1]/jwks",
        "https://[2002:a00:5::]/jwks",
        "https://[::127.0.0.1]/jwks",
        "https://[64:ff9b::169.254.169.254]/jwks",
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/jwks",
        # Site-local (fec0::/10, RFC 3879: deprecated, still routed inside some networks), which
        # `ipaddress` calls global and neither private nor reserved.
        "https://[fec0::1]/jwks",
        "https://[fec0:0:0:ffff::1]/jwks",
        "https://[feff:ffff::1]/jwks",
    ],
)
def test_internal_addresses_are_refused(url):
    with pytest.raises(outbound.OutboundError, match="address"):
        outbound.fetch(url, max_bytes=KB, timeout=1)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://keys.example.com/jwks", "https"),
        ("ftp://keys.example.com/jwks", "https"),
        ("https://user:pw@keys.example.com/jwks", "user information"),
        ("https:///jwks", "host"),
        ("https://keys.example.com:99999/jwks", "malformed"),
        ("https://keys.example.com/a b", "malformed"),
    ],
)
def test_urls_that_are_not_plain_https_are_refused(url, reason):
    with pytest.raises(outbound.OutboundError, match=reason):
        outbound.fetch(url, max_bytes=KB, timeout=1)


def _resolving_to(monkeypatch, *addresses):
    def getaddrinfo(host, port, *args, **kwargs):
        family = lambda a: socket.AF_INET6 if ":" in a else socket.AF_INET  # noqa: E731
        return [(family(a), socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)


def test_a_host_name_resolving_to_an_internal_address_is_refused(monkeypatch):
    _resolving_to(monkeypatch, "169.254.169.254")
    with pytest.raises(outbound.OutboundError, match=re.escape("169.254.169.254")):
        outbound.fetch("https://metadata.attacker.example/jwks", max_bytes=KB, timeout=1)


def test_every_resolved_address_is_checked(monkeypatch):
    # A name with one public and one private address: the resolver (or an attacker's DNS) picks.
    _resolving_to(monkeypatch, "93.184.215.14", "10.0.0.7")
    with pytest.raises(outbound.OutboundError, match=re.escape("10.0.0.7")):
        outbound.fetch("https://mixed.attacker.example/jwks", max_bytes=KB, timeout=1)


def test_the_connection_goes_to_the_checked_address(monkeypatch, https_server):
    # The name resolves (once, here) to the allowed loopback address; a second lookup that a
    # rebinding DNS could answer differently never happens.
    calls = []

    def getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)
    https_server.routes["/jwks"] = (200, {"Content-Type": "application/json"}, b'{"keys": []}')
    url = https_server.url("/jwks").replace("127.0.0.1", "localhost")
    assert outbound.fetch(url, max_bytes=KB, timeout=5).body == b'{"keys": []}'
    # Once by name; the socket layer then only "resolves" the IP literal it was handed.
    assert calls[0] == "localhost" and set(calls[1:]) <= {"127.0.0.1"}


def test_an_unresolvable_host_is_an_error(monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror("no such name")

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(outbound.OutboundError, match="does not resolve"):
        outbound.fetch("https://nowhere.example/jwks", max_bytes=KB, timeout=1)


def test_loopback_is_reachable_only_when_a_setting_allows_it(https_server, settings):
    https_server.routes["/jwks"] = (200, {}, b'{"keys": []}')
    assert outbound.fetch(https_server.url("/jwks"), max_bytes=KB, timeout=5).status == 200
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(outbound.OutboundError, match=re.escape("127.0.0.1 is private")):
        outbound.fetch(https_server.url("/jwks"), max_bytes=KB, timeout=5)


def test_redirects_are_not_followed(https_server):
    https_server.routes["/old"] = (302, {"Location": "https://169.254.169.254/"}, b"")
    with pytest.raises(outbound.OutboundError, match="redirect"):
        outbound.fetch(https_server.url("/old"), max_bytes=KB, timeout=5)
    assert https_server.hits == {"/old": 1}


def test_an_oversized_response_is_refused(https_server):
    https_server.routes["/big"] = (200, {}, b"x" * (64 * KB + 1))
    with pytest.raises(outbound.OutboundError, match="larger than"):
        outbound.fetch(https_server.url("/big"), max_bytes=64 * KB, timeout=5)


def test_a_response_without_content_length_is_counted_while_reading(https_server):
    https_server.routes["/exact"] = (200, {}, b"x" * 10)
    assert len(outbound.fetch(https_server.url("/exact"), max_bytes=10, timeout=5).body) == 10
    https_server.routes["/chunked"] = (
        200,
        {"Transfer-Encoding": "chunked"},
        b"5\r\nxxxxx\r\n5\r\nxxxxx\r\n0\r\n\r\n",
    )
    with pytest.raises(outbound.OutboundError, match="larger than"):
        outbound.fetch(https_server.url("/chunked"), max_bytes=8, timeout=5)


@pytest.mark.parametrize("length", ["\u00b2", "1\u00b2", "\u00b9\u00b2"], ids=plain_id)
def test_a_content_length_that_is_not_a_number_is_read_within_the_limit(https_server, length):
    """A hostile server's `Content-Length: ²`: str.isdigit() is true and int() refused it, and
    the ValueError left fetch, past every caller's OutboundError (a developer's sector
    identifier URI on the portal's form was a 500). The header is no number: the body is
    counted while reading, as without one."""
    https_server.routes["/odd"] = (200, {"Content-Length": length}, b'["https://a.example/cb"]')
    assert (
        outbound.fetch(https_server.url("/odd"), max_bytes=64, timeout=5).body == b'["https://a.example/cb"]'
    )
    https_server.routes["/odd-big"] = (200, {"Content-Length": length}, b"x" * 65)
    with pytest.raises(outbound.OutboundError, match="larger than"):
        outbound.fetch(https_server.url("/odd-big"), max_bytes=64, timeout=5)


def test_a_content_length_of_thousands_of_digits_is_too_large(https_server):
    """int() refuses a string of more than 4300 digits: the ValueError left fetch (a 500 for
    whoever made the server fetch the URL). A length that long is larger than any limit."""
    https_server.routes["/long"] = (200, {"Content-Length": "9" * 5000}, b"[]")
    with pytest.raises(outbound.OutboundError, match="larger than"):
        outbound.fetch(https_server.url("/long"), max_bytes=64, timeout=5)


def test_an_untrusted_certificate_is_refused(https_server, settings):
    settings.OAUTH2_OUTBOUND_CA_BUNDLE = ""
    https_server.routes["/jwks"] = (200, {}, b"{}")
    with pytest.raises(outbound.OutboundError, match="TLS"):
        outbound.fetch(https_server.url("/jwks"), max_bytes=KB, timeout=5)


def test_a_server_that_does_not_answer_times_out(settings):
    # A listening socket that never accepts: the TLS handshake cannot finish.
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(outbound.OutboundError, match=r"in time|failed"):
            outbound.fetch(f"https://127.0.0.1:{port}/jwks", max_bytes=KB, timeout=0.5)


def test_json_documents_are_cached_for_their_max_age(https_server, local_memory_cache):
    https_server.routes["/jwks"] = (200, {"Cache-Control": "public, max-age=600"}, b'{"v": 1}')
    url = https_server.url("/jwks")
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert outbound.fetch_json_cached(url, max_bytes=KB, timeout=5) == {"v": 1}
        https_server.routes["/jwks"] = (200, {"Cache-Control": "max-age=600"}, b'{"v": 2}')
        traveller.shift(599)
        assert outbound.fetch_json_cached(url, max_bytes=KB, timeout=5) == {"v": 1}
        traveller.shift(2)
        assert outbound.fetch_json_cached(url, max_bytes=KB, timeout=5) == {"v": 2}
    assert https_server.hits["/jwks"] == 2


@pytest.mark.parametrize(
    "header, seconds",
    [
        (None, outbound.DEFAULT_CACHE_SECONDS),
        ("max-age=0", outbound.MIN_CACHE_SECONDS),
        ("no-store", outbound.MIN_CACHE_SECONDS),
        ("private, max-age=120", 120),
        ("max-age=99999999", outbound.MAX_CACHE_SECONDS),
        ("max-age=abc", outbound.DEFAULT_CACHE_SECONDS),
        # Digits of other scripts are no max-age (regex \\d matched them, int() read "٦٠٠" as 600).
        ("max-age=\u0666\u0660\u0660", outbound.DEFAULT_CACHE_SECONDS),
        ("max-age=\u00b2", outbound.DEFAULT_CACHE_SECONDS),
        ("max-age=\uff16\uff10\uff10", outbound.DEFAULT_CACHE_SECONDS),
        # int() refused more than 4300 digits: a ValueError out of fetch_json_cached.
        ("max-age=" + "9" * 5000, outbound.MAX_CACHE_SECONDS),
        ('max-age="120"', 120),
    ],
    ids=lambda value: ascii(value)[:30],
)
def test_cache_lifetimes_are_bounded(header, seconds):
    assert outbound.cache_seconds(header) == seconds


def test_a_body_that_is_not_json_is_an_error(https_server):
    https_server.routes["/html"] = (200, {}, b"<html>")
    with pytest.raises(outbound.OutboundError, match="not a JSON"):
        outbound.fetch_json(https_server.url("/html"), max_bytes=KB, timeout=5)
    https_server.routes["/gone"] = (404, {}, json.dumps({}).encode())
    with pytest.raises(outbound.OutboundError, match="404"):
        outbound.fetch_json(https_server.url("/gone"), max_bytes=KB, timeout=5)
