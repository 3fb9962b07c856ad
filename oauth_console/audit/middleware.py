"""Puts the current request's audit context in a ContextVar and echoes the request id."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from oauth_console.audit import recorder
from oauth_console.audit.context import context_for, current_request, request_id_from


class RequestContextMiddleware:
    """Give every request an id (X-Request-ID if sane, else new), expose its audit context, and,
    when it ends, write the events it held back (and, without write-behind, all its events in
    one INSERT)."""

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
            try:
                for held in context.deferred:
                    event = held.build()
                    if event is not None:
                        recorder.write(event)
                context.deferred.clear()
                pending, context.pending = context.pending, None
                recorder.insert(pending)
            except Exception:  # the audit log never breaks the request it observes
                recorder.logger.exception("Could not write the audit events of a request")
            finally:
                current_request.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
