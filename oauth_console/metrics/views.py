"""GET /metrics: the Prometheus text format, for the scrapers METRICS_TOKEN and
METRICS_ALLOWED_NETWORKS let in; 401 or 403 with an empty body for anyone else.

The client's address is the rate limiter's (`server.ratelimit.client_address`, which honours
OAUTH2_RATE_LIMIT_PROXY_COUNT): behind a proxy on the same host, every outside request would
otherwise come from 127.0.0.1. Never audited, never rate-limited, no session, not behind the
protocol endpoints' HTTPS rule (Prometheus usually scrapes the pod over plain HTTP).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from oauth_console.metrics.multiprocess import ENVIRONMENT_VARIABLE
from server.ratelimit import client_address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(texts: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(text, strict=False) for text in texts)


def _in_networks(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == network.version and ip in network for network in networks)


def _bearer(request: HttpRequest) -> bytes:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip().encode() if scheme.lower() == "bearer" else b""


def refusal(request: HttpRequest) -> HttpResponse | None:
    """The empty 403/401 for a scraper the settings do not let in, else None.

    Networks first (403: nothing to retry), then the token (401 with a Bearer challenge). With
    neither setting, /metrics is closed."""
    token = settings.METRICS_TOKEN
    networks = _networks(tuple(settings.METRICS_ALLOWED_NETWORKS))
    if not token and not networks:
        return HttpResponse(status=403)
    if networks and not _in_networks(client_address(request), networks):
        return HttpResponse(status=403)
    if token and not hmac.compare_digest(_bearer(request), token.encode()):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


@functools.cache
def _multiprocess_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def scrape_registry() -> CollectorRegistry:
    """Every worker's counts summed (PROMETHEUS_MULTIPROC_DIR), else this process's."""
    return _multiprocess_registry() if os.environ.get(ENVIRONMENT_VARIABLE) else REGISTRY


@csrf_exempt
@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    refused = refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
