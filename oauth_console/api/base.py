"""The view every API endpoint is: strict JSON bodies, unknown fields refused, rate limits,
answers never cached.

- Bodies are read by the server's one JSON reader (`server.oauth2.bodies.read_json_body`: size,
  UTF-8, nesting depth); a body over DATA_UPLOAD_MAX_MEMORY_SIZE is 413 before it is read.
- `StrictSerializer` refuses fields it does not know (400, each named under `errors`), and so
  do the query strings of list endpoints (`query_values`), so a mistyped filter never widens a
  list or a bulk revocation.
- Rate limits as the protocol endpoints have them (`server.ratelimit`): `api_ip` per address,
  counted before the token is checked (token guessing), and `api_client` per caller after.
  Over a limit: 429 with Retry-After, and `request_throttled` is sent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from django.conf import settings
from rest_framework import exceptions, generics, parsers, serializers
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

from oauth_console.api.auth import BearerTokenAuthentication, HasOperatorScope, OperatorSessionAuthentication
from oauth_console.api.problems import Problem, ProblemJSONRenderer
from server.conf import server_settings
from server.oauth2 import OAuth2Error
from server.oauth2.bodies import read_json_body
from server.ratelimit import Throttle, cache_guard, client_ip
from server.ratelimit.counters import count
from server.ratelimit.responses import announce


class StrictJSONParser(parsers.BaseParser):
    """application/json through the server's JSON reader; too large is 413, malformed 400."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]._request
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            raise Problem(413, "body-too-large", f"The request body is too large (at most {limit} bytes).")
        try:
            return read_json_body(request)
        except OAuth2Error as error:
            raise exceptions.ParseError(error.description) from None


class OperatorBrowsableRenderer(BrowsableAPIRenderer):
    """DRF's browsable pages for a signed-in operator: the answer and a raw JSON form (the views
    have no queryset or filter backends to build HTML forms and filter forms from).

    Without DRF's inline <style> of Pygments' stylesheet: the Content-Security-Policy allows no
    inline style, so the browser refused it on every page (a console error each); it colours
    code in Markdown descriptions, which DRF renders only when Markdown is installed (it is not)."""

    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        context["code_style"] = None
        return context

    def get_filter_form(self, data, view, request):
        return None

    def get_rendered_html_form(self, data, view, method, request):
        return None


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses fields it does not declare (or declares read-only)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(name) for name in data if name not in writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not known here."] for name in unknown[:50]}
                )
        return super().to_internal_value(data)


def _limit(request, name: str, who: str, client_id: str = "") -> None:
    if not server_settings.OAUTH2_RATE_LIMIT_ENABLED or not cache_guard.available or not who:
        return
    try:
        wait = count(name, who, time.time())
    except Exception as exc:  # the cache is down: an outage must not break the API
        cache_guard.failed(exc)
        return
    if wait:
        announce(request, Throttle("api", name, wait, client_id, client_ip(request)), OperatorAPIView)
        raise exceptions.Throttled(wait)


class OperatorAPIView(generics.GenericAPIView):
    """Base of every endpoint: `scopes` maps an HTTP method to the operator scopes (any one of
    them) it needs."""

    authentication_classes = [BearerTokenAuthentication, OperatorSessionAuthentication]
    permission_classes = [HasOperatorScope]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer, ProblemJSONRenderer, OperatorBrowsableRenderer]
    throttle_classes = []
    scopes: dict[str, tuple[str, ...]] = {}

    def initial(self, request, *args, **kwargs):
        _limit(request._request, "api_ip", client_ip(request._request))
        super().initial(request, *args, **kwargs)
        caller = request.user
        client_id = caller.client.client_id if getattr(caller, "client", None) else ""
        _limit(request._request, "api_client", getattr(caller, "label", ""), client_id)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Answers carry secrets shown once and the operator's view of the server.
        response["Cache-Control"] = "no-store"
        return response

    @property
    def actor(self):
        return self.request.user.actor

    def validated(self, serializer_class, *, data=None, partial: bool = False, **context) -> dict:
        """The request body (or `data`) validated by `serializer_class`, or a 400."""
        serializer = serializer_class(
            data=self.request.data if data is None else data,
            partial=partial,
            context={"request": self.request, "view": self, **context},
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def query_values(self, serializer_class) -> dict:
        """The query string validated by `serializer_class` (a StrictSerializer): unknown or
        repeated parameters are refused."""
        params = self.request.query_params
        repeated = sorted(name for name in params if len(params.getlist(name)) > 1)
        if repeated:
            message = "Give this parameter once."
            raise Problem(
                400, "validation-error", "Repeated parameters.", errors={name: [message] for name in repeated}
            )
        # `format` is DRF's own (?format=json in the browsable pages).
        values = {name: value for name, value in params.items() if name != "format"}
        return self.validated(serializer_class, data=values, query=True)
