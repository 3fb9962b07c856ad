"""Errors as RFC 9457 problem details (`application/problem+json`): `type`, `title`, `status`,
`detail`, and `errors` ({field: [messages]}) when a request's values were refused.

Every refusal of the API comes through `exception_handler` (REST_FRAMEWORK's
EXCEPTION_HANDLER): DRF's own exceptions, the server's `PolicyError` (400 naming the field) and
`SigningKeyError` (409), Django's 404 and 403, and the `Problem`s raised here. The bearer
token's refusals keep RFC 6750's `WWW-Authenticate` challenge and its `error` code.
"""

from __future__ import annotations

from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from server import policies, services
from server.oauth2 import clean_error_text

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:oauth-console:problem:"


class ProblemJSONRenderer(JSONRenderer):
    """Lets a caller ask for `Accept: application/problem+json`."""

    media_type = PROBLEM_CONTENT_TYPE


class Problem(exceptions.APIException):
    """An API refusal with its problem type (a slug of docs/api.md's table) and extra members."""

    def __init__(
        self,
        status_code: int,
        slug: str,
        detail: str,
        *,
        title: str = "",
        errors: dict | None = None,
        headers: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail)
        self.status_code = status_code
        self.slug = slug
        self.title = title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


def field_problem(field: str, message: str, *, status_code: int = 400, slug: str = "validation-error"):
    """A Problem naming one field's error."""
    return Problem(status_code, slug, message, errors={field: [message]})


_SLUGS = {
    exceptions.ParseError: "malformed-body",
    exceptions.UnsupportedMediaType: "unsupported-media-type",
    exceptions.NotAuthenticated: "not-authenticated",
    exceptions.AuthenticationFailed: "not-authenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not-found",
    exceptions.MethodNotAllowed: "method-not-allowed",
    exceptions.NotAcceptable: "not-acceptable",
    exceptions.Throttled: "rate-limited",
    exceptions.ValidationError: "validation-error",
}


def _errors_of(detail) -> dict:
    """DRF's ValidationError detail as {field: [messages]} (non-field errors under "_")."""
    if isinstance(detail, dict):
        return {str(field): _flatten(messages) for field, messages in detail.items()}
    return {"_": _flatten(detail)}


def _flatten(messages) -> list:
    if isinstance(messages, dict):  # a nested serializer's errors: kept as they are
        return [_errors_of(messages)]
    if isinstance(messages, list):
        flat = []
        for message in messages:
            flat.extend(_flatten(message) if isinstance(message, list | dict) else [str(message)])
        return flat
    return [str(messages)]


def _problem_of(exc: Exception) -> Problem | None:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, policies.PolicyError):
        field = exc.field or "_"
        return Problem(400, "policy", str(exc), title="Refused by policy", errors={field: [str(exc)]})
    if isinstance(exc, services.SigningKeyError):
        return Problem(409, "conflict", str(exc), title="Conflict")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    slug = next((s for cls, s in _SLUGS.items() if isinstance(exc, cls)), "error")
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        errors = _errors_of(exc.detail)
        fields = ", ".join(sorted(errors))
        return Problem(400, slug, f"Invalid values: {fields}.", title="Invalid request", errors=errors)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return Problem(exc.status_code, slug, detail, headers=headers)


def problem_response(problem: Problem, request=None) -> Response:
    """The problem+json Response for `problem`."""
    title = problem.title or _reason(problem.status_code)
    body = {
        "type": TYPE_PREFIX + problem.slug,
        "title": title,
        "status": problem.status_code,
        # Descriptions may echo what the caller sent: control characters never reach the answer.
        "detail": clean_error_text(str(problem.detail)) or title,
        **problem.extra,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    renderer = getattr(request, "accepted_renderer", None)
    browsable = getattr(renderer, "format", "") == "api"
    if request is not None and not browsable and not isinstance(renderer, JSONRenderer):
        # A view that renders a template or YAML (the docs page, the schema), or a request whose
        # negotiation failed (DRF then takes the view's first renderer), would write the problem
        # in that format under the problem+json label.
        request.accepted_renderer = ProblemJSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE
    response = Response(
        body, status=problem.status_code, content_type=None if browsable else PROBLEM_CONTENT_TYPE
    )
    for name, value in problem.headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """REST_FRAMEWORK's EXCEPTION_HANDLER: every refusal as problem+json; None (a 500) only for
    a fault of ours."""
    problem = _problem_of(exc)
    if problem is None:
        return None
    return problem_response(problem, context.get("request"))
