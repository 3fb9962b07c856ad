"""Django's browser layers (sessions, the signed-in user, messages), skipped for the machine
endpoints (`server.machine_endpoints`): those requests carry no cookie to read. Skipping them
takes 6.7% off a bearer-protected request's instructions, 4.1% off an introspection's and 2.7%
off a token's (`bench.request_cost --instructions`). Every other path gets the layers unchanged. Each class
is a subclass of Django's own, so the admin's checks that they are installed still hold.
Django's CSRF middleware stays as it is (its deploy check wants it by name): the machine views
are exempt, so it does next to nothing for them (but it reads the session on every request when
CSRF_USE_SESSIONS is on: the session layer then runs for every path).
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Sessions

from oauth_console.hot_settings import setting
from server.machine_endpoints import is_machine_request


def _is_machine(request) -> bool:
    # Three layers ask; the answer (a ROOT_URLCONF read and a cached lookup) is kept on the
    # request by the first.
    try:
        return request._machine_request
    except AttributeError:
        answer = request._machine_request = is_machine_request(request)
        return answer


class _BrowserOnly:
    def __call__(self, request):
        if _is_machine(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_BrowserOnly, _Sessions):
    """Sessions, for browser requests only; for every request when the CSRF token lives in the
    session (CSRF_USE_SESSIONS): Django's CSRF middleware reads it on every request, and without
    a session it refuses every machine endpoint with a 500."""

    def __call__(self, request):
        if setting("CSRF_USE_SESSIONS", False):
            return _Sessions.__call__(self, request)
        return super().__call__(request)


class AuthenticationMiddleware(_BrowserOnly, _Authentication):
    """`request.user`, for browser requests only."""


class MessageMiddleware(_BrowserOnly, _Messages):
    """Flash messages, for browser requests only."""
