"""The latency histogram of the protocol endpoints (`oauth_request_duration_seconds`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from oauth_console.metrics import registry

# (endpoint, status class) -> the histogram's child: `labels()` checks and converts its values and
# takes a lock on every call; the bounded label values (URL names of PROTOCOL_ENDPOINTS, five
# status classes) make this at most a few dozen children, the ones `labels()` keeps anyway.
_children: dict[tuple[str, str], object] = {}


def _duration(endpoint: str, status: str):
    try:
        return _children[endpoint, status]
    except KeyError:
        child = _children[endpoint, status] = registry.REQUEST_DURATION.labels(endpoint, status)
        return child


class ProtocolLatencyMiddleware:
    """Time every request and keep the time of those a protocol endpoint answered, labelled by
    the endpoint's URL name and the status class ("2xx", "4xx" ...). Outermost in MIDDLEWARE, so
    the rate limiter's and the audit log's share is counted too. Other pages are not observed:
    their paths are unbounded, and they are not what an operator's SLO is about."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        # resolver_match is set once URL resolution ran (inside get_response).
        endpoint = registry.endpoint_of(request)
        if endpoint is not None:
            status = f"{response.status_code // 100}xx"
            _duration(endpoint, status).observe(time.perf_counter() - started)
        return response
