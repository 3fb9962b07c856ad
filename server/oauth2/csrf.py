"""The CSRF check a bearer-protected view reached without a token still owes (resource_protector)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string


def csrf_refusal(request: HttpRequest, view: Callable) -> HttpResponse | None:
    """The CSRF failure response for `request`, or None when it passes (or the project, or the
    view itself, opted out of CSRF protection)."""
    if getattr(view, "csrf_exempt", False) or not _csrf_middleware_installed(tuple(settings.MIDDLEWARE)):
        return None
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, view, (), {})


@functools.cache
def _csrf_middleware_installed(middleware: tuple[str, ...]) -> bool:
    for path in middleware:
        try:
            cls = import_string(path)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, CsrfViewMiddleware):
            return True
    return False
