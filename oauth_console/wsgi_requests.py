"""The WSGI application's request: Django's, with what it recomputes on every read kept.

`request.scheme` reads SECURE_PROXY_SSL_HEADER twice through `django.conf.settings` and parses the
forwarded header on each read, and `get_host()` reads three settings and validates the host
against ALLOWED_HOSTS on each call. A protocol request asked for its scheme three or four times
(SecurityMiddleware twice, the endpoint's transport check) and its host twice (CommonMiddleware,
the transport check). Neither can change during a request (its headers are what the client
sent; settings do not change under a live request), so each is worked out on first use and kept
on the request. A host that is not allowed is not kept: every call raises DisallowedHost, as
before. `oauth_console.wsgi` serves with this class; Django's test client builds its own
requests (tests/server/test_hot_path_work.py checks this one against Django's).
"""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.utils.functional import cached_property


class Request(WSGIRequest):
    @cached_property
    def scheme(self) -> str:
        return WSGIRequest.scheme.fget(self)

    def get_host(self) -> str:
        try:
            return self.__dict__["_allowed_host"]
        except KeyError:
            host = self.__dict__["_allowed_host"] = super().get_host()
            return host


class Handler(WSGIHandler):
    request_class = Request
