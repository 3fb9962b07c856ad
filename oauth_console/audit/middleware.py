"""Puts the current request's audit context in a ContextVar and echoes the request id."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from oauth_console.audit import recorder
from oauth_console.audit.context import context_for, current_request, request_id_from


class RequestContextMiddleware:
    """Give every request an id (X-Request-ID if sane, else new), expose its audit context, and
    write the audit events the request caused, all in one INSERT, when it ends."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        context = request.audit_context = context_for(request)
        context.pending = []
        token = current_request.set(context)
        try:
            response = self.get_response(request)
        finally:
            pending, context.pending = context.pending, None
            try:
                recorder.insert(pending)
            finally:
                current_request.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
