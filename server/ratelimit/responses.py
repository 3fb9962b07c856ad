"""What a throttled caller gets (429) and who is told (the `request_throttled` signal)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from server import signals
from server.actors import Actor
from server.oauth2 import json_error_response, no_store

from .counters import Throttle, logger

# Scopes whose callers are people at a form: they get a page, not the RFC's JSON.
PAGE_SCOPES = {"login": "sign-in", "signup": "sign-up", "device": "code"}


def throttled_response(request: HttpRequest, throttle: Throttle) -> HttpResponse:
    """429 with Retry-After: the RFC-style JSON error for machines, a page for people."""
    if throttle.scope in PAGE_SCOPES:
        context = {"retry_after": throttle.retry_after, "attempts": PAGE_SCOPES[throttle.scope]}
        response = render(request, "throttled.html", context, status=429)
    else:
        if throttle.limit.startswith("auth_failures"):
            description = "Too many failed client authentications; try again later."
        else:
            description = "Too many requests; slow down and try again later."
        response = json_error_response("slow_down", description, 429)
    response["Retry-After"] = str(throttle.retry_after)
    return no_store(response)


def announce(request: HttpRequest, throttle: Throttle, sender: type) -> None:
    """Send `request_throttled` for `throttle`; a receiver's failure is logged, not raised."""
    actor = Actor.client(throttle.client_id) if throttle.client_id else Actor.system("rate-limit")
    try:
        signals.request_throttled.send(
            sender=sender,
            request=request,
            scope=throttle.scope,
            limit=throttle.limit,
            client_id=throttle.client_id,
            ip=throttle.ip,
            retry_after=throttle.retry_after,
            actor=actor,
            at=timezone.now(),
        )
    except Exception:
        # A receiver's failure must not turn a 429 into a 500.
        logger.exception("a request_throttled receiver failed")
