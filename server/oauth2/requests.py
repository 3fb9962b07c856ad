"""The OAuth 2.0 view of a Django request, parsed strictly (the readers are in `bodies.py`).

Form requests (authorization, token, revocation, introspection): a repeated parameter is refused
where Django would let the last one win, every parse failure is an `invalid_request` (RFC 6749
§5.2), and the request object exposes `grant_type`, `client_id`, `data`, ... as plain
attributes, without authlib's deprecated proxies. JSON requests (RFC 7591/7592 registration):
the body is read with the same size, encoding and nesting limits, when an endpoint first asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InsecureTransportError, InvalidRequestError
from django.http import HttpRequest

from .bodies import Params, read_form, read_json_body, read_query
from .errors import MethodNotAllowedError, clean_error_text

__all__ = [
    "AUTHORIZATION_STYLE",
    "DEFAULT_PARAMETER_LIMITS",
    "DEVICE_AUTHORIZATION_STYLE",
    "TOKEN_STYLE",
    "DjangoJsonPayload",
    "DjangoJsonRequest",
    "DjangoOAuth2Payload",
    "DjangoOAuth2Request",
    "UnacceptedParametersError",
    "build_oauth2_request",
    "check_parameter_lengths",
    "within_limit",
]

# Token, revocation and introspection: POST, form body only (RFC 6749 §3.2, RFC 7009, RFC 7662).
TOKEN_STYLE = "token"
# Authorization endpoint: GET query, or POST form (RFC 6749 §3.1).
AUTHORIZATION_STYLE = "authorization"
# Device authorization endpoint (RFC 8628 §3.1): the token style, except that an empty body needs
# no content type (a confidential client naming no scope has no parameter to send).
DEVICE_AUTHORIZATION_STYLE = "device_authorization"

# The longest value accepted for each parameter the server stores or sends back. RFC 6749 sets
# no limits; a database column does (PostgreSQL refuses a longer value with an exception in the
# middle of the request), and an echoed value should not grow a redirect without bound.
# AuthorizationServer(parameter_limits=...) narrows them to the columns of its models.
DEFAULT_PARAMETER_LIMITS: Mapping[str, int] = {
    "client_id": 255,
    "redirect_uri": 2048,
    "scope": 1024,
    "state": 2048,
    "nonce": 255,
    "code_challenge": 128,  # RFC 7636 §4.2
    "code_challenge_method": 16,
    # OpenID Connect (never stored, but echoed into a sign-in form or verified).
    "login_hint": 255,
    "id_token_hint": 8192,
    "max_age": 10,
    # RP-Initiated Logout (echoed into a confirmation form or a redirect).
    "post_logout_redirect_uri": 2048,
    "logout_hint": 255,
    "ui_locales": 255,
    "claims": 4096,  # OpenID Connect Core §5.5 (stored with the code as parsed JSON)
    "acr_values": 1024,
    # RFC 8707 (each value; server.oauth2.resource_indicators limits how many).
    "resource": 2048,
}
# The parameters that may repeat: RFC 8707 §2 names one resource per `resource` parameter.
MULTI_VALUED = frozenset({"resource"})
# Checked while parsing the authorization request: they say which client asks and where its
# errors go, so an error about them is shown, never redirected (RFC 6749 §4.1.2.1).
IDENTITY_PARAMETERS = ("client_id", "redirect_uri")
# Checked while parsing a token-style request: the parameters those endpoints use. Others (a
# stray `state`) are ignored, as RFC 6749 §3.2 requires of unrecognized parameters.
TOKEN_PARAMETERS = ("client_id", "redirect_uri", "scope", "resource")


def check_parameter_lengths(
    params: Mapping[str, Any], limits: Mapping[str, int], names: Iterable[str] | None = None
) -> None:
    """Raise InvalidRequestError naming the first parameter (of `names`, default every limited
    one) whose value in `params` (a string, or a list of strings) is longer than its limit."""
    for name in limits if names is None else names:
        limit = limits.get(name)
        value = params.get(name)
        values = value if isinstance(value, list) else [value]
        if limit is not None and any(isinstance(v, str) and len(v) > limit for v in values):
            raise InvalidRequestError(f"The '{name}' parameter is too long (at most {limit} characters).")


def within_limit(params: Mapping[str, Any], name: str, limits: Mapping[str, int]) -> Any:
    """`params[name]` when it is within its limit, else None (for values echoed in an error)."""
    value = params.get(name)
    limit = limits.get(name)
    if isinstance(value, str) and limit is not None and len(value) > limit:
        return None
    return value


class UnacceptedParametersError(InvalidRequestError):
    """invalid_request about an authorization request whose parameters were read (one repeated,
    a client secret in the URL, a value too long): `params` holds them all, so that the
    authorization endpoint can still tell which client asked and where its errors go (RFC 6749
    §4.1.2.1: redirected once client_id and redirect_uri are validated)."""

    def __init__(self, description: str, params: Params) -> None:
        super().__init__(description)
        self.params = params


def _first_values(params: Params) -> dict[str, str]:
    return {name: values[0] for name, values in params.items()}


def _merge(*sources: Params) -> Params:
    merged: Params = {}
    for source in sources:
        for name, values in source.items():
            merged.setdefault(name, []).extend(values)
    return merged


class DjangoOAuth2Payload(OAuth2Payload):
    """The request parameters authlib reads: `data` (one value each) and `datalist`."""

    def __init__(self, params: Params) -> None:
        self._datalist = params
        self._data = _first_values(params)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> Params:
        return self._datalist


class DjangoOAuth2Request(OAuth2Request):
    """An authlib OAuth2Request built from a Django HttpRequest whose parameters were parsed strictly.

    `grant_type`, `client_id`, `response_type`, `redirect_uri`, `state`, `data` and `datalist`
    are plain reads of the parameters (authlib 1.9's versions warn); `client`, `user`,
    `credential` (the authorization code or refresh token being exchanged) are set by the
    grants; `django_request` is the original request.
    """

    def __init__(self, request: HttpRequest, *, query: Params, form: Params, params: Params) -> None:
        _check_transport(request)
        # authlib's __init__ would repeat its own transport check, which knows no test client;
        # these are the attributes it sets (authlib 1.9), `uri` on first read (below).
        self.method = request.method
        self._body = None
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        self.django_request = request
        # The name authlib's own Django integration uses, for code written against it.
        self._request = request
        self.payload = DjangoOAuth2Payload(params)
        self._args = _first_values(query)
        self._form = _first_values(form)

    @cached_property
    def uri(self) -> str:
        """The request's absolute URI (`build_absolute_uri`), made when something reads it: the
        token endpoints never do, and the transport check needs its origin only."""
        return self.django_request.build_absolute_uri()

    @property
    def headers(self) -> Any:
        """The Django request's `headers`, built on first read: Django makes them from the whole
        of META, which a request that reads only its Authorization header (from META) skips."""
        return self.django_request.headers

    # Plain reads where authlib 1.9 keeps deprecated proxies.
    @property
    def data(self) -> dict[str, str]:
        return self.payload.data

    @property
    def datalist(self) -> Params:
        return self.payload.datalist

    @property
    def client_id(self) -> str | None:
        return self.payload.client_id

    @property
    def grant_type(self) -> str | None:
        return self.payload.grant_type

    @property
    def response_type(self) -> str | None:
        return self.payload.response_type

    @property
    def redirect_uri(self) -> str | None:
        return self.payload.redirect_uri

    @property
    def state(self) -> str | None:
        return self.payload.state

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


# Django's test client speaks plain HTTP to this host name; Django itself admits it only while
# tests run (setup_test_environment adds it to ALLOWED_HOSTS).
TEST_CLIENT_HOST = "testserver"


def _check_transport(request: HttpRequest) -> None:
    """Refuse plain HTTP (RFC 6749 §1.6) except where authlib allows it (loopback, or the
    AUTHLIB_INSECURE_TRANSPORT variable) and for Django's test client.

    authlib judges a URI by its scheme and host alone; the request's origin is the start of
    its absolute URI (`build_absolute_uri`: scheme, "://", the host `get_host` validated,
    which holds no "/", "?", "#" or "@"), so it is judged as the whole URI would be, and a
    disallowed host raises DisallowedHost here as it did there."""
    if is_secure_transport(f"{request.scheme}://{request.get_host()}/"):
        return
    if request.get_host().split(":")[0] == TEST_CLIENT_HOST:
        return
    raise InsecureTransportError()


def _refuse_in_query(query: Params, names: Iterable[str], message: str) -> None:
    if any(name in query for name in names):
        raise InvalidRequestError(message)


def build_oauth2_request(
    request: HttpRequest, *, style: str, limits: Mapping[str, int] = DEFAULT_PARAMETER_LIMITS
) -> DjangoOAuth2Request:
    """Parse `request` for an endpoint of the given style; raise an OAuth2Error if it is malformed.

    `style` is "token" (token, revocation, introspection: POST with a form body, parameters from
    the body only) or "authorization" (GET query or POST form). Repeated parameters, client
    secrets in the URL and bodies that are not UTF-8 forms are refused (RFC 6749 §3.1, §2.3.1),
    and so are values over their `limits`: of the TOKEN_PARAMETERS for the token style, of the
    IDENTITY_PARAMETERS for the authorization style (the grant checks the others once the
    client and redirect URI are known, so that the error can be redirected).
    """
    if style == DEVICE_AUTHORIZATION_STYLE:
        empty = (request.META.get("CONTENT_LENGTH") or "0") in ("0", "")
        style = TOKEN_STYLE if not empty else style
    if style in (TOKEN_STYLE, DEVICE_AUTHORIZATION_STYLE):
        if request.method != "POST":
            raise MethodNotAllowedError(["POST"])
        query = read_query(request)
        _refuse_in_query(
            query,
            ("client_id", "client_secret", "client_assertion", "client_assertion_type"),
            "Client credentials must not be sent in the URL query (RFC 6749 section 2.3.1).",
        )
        form = read_form(request, required=style == TOKEN_STYLE)
        params = form
        _check_parameters(params, limits, TOKEN_PARAMETERS)
    else:
        if request.method not in ("GET", "POST"):
            raise MethodNotAllowedError(["GET", "POST"])
        query = read_query(request)
        form = read_form(request, required=False) if request.method == "POST" else {}
        params = _merge(query, form)
        try:
            _refuse_in_query(query, ("client_secret",), "A client secret must never be sent in the URL.")
            _check_parameters(params, limits, IDENTITY_PARAMETERS)
        except InvalidRequestError as error:
            raise UnacceptedParametersError(error.description, params) from None
    return DjangoOAuth2Request(request, query=query, form=form, params=params)


def _check_parameters(params: Params, limits: Mapping[str, int], names: Iterable[str]) -> None:
    """No parameter repeated (but MULTI_VALUED ones), none of `names` over its limit."""
    repeated = sorted(name for name, values in params.items() if len(values) > 1 and name not in MULTI_VALUED)
    if repeated:
        name = clean_error_text(repeated[0], limit=60)
        raise InvalidRequestError(f"The parameter '{name}' is repeated (RFC 6749 section 3.1).")
    check_parameter_lengths(params, limits, names)


class DjangoJsonPayload(JsonPayload):
    """The JSON body of a POST or PUT, read on first use (other methods have none: `{}`).

    A wrong content type, a body over the size limit, bad JSON or deep nesting is an
    InvalidRequestError, raised where the endpoint first reads `data`, so that it comes after
    the endpoint's authentication. The value may be any JSON; endpoints check its shape.
    """

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @cached_property
    def data(self) -> Any:
        if self._request.method not in ("POST", "PUT"):
            return {}
        return read_json_body(self._request)


class DjangoJsonRequest(JsonRequest):
    """authlib's JSON request built from a Django request; `django_request` is the original.

    `credential` is what the endpoint authenticated (a registration access token, ...), and
    `client` the client it acts on; both are set by the endpoint.
    """

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request.method, request.build_absolute_uri(), request.headers)
        self.payload = DjangoJsonPayload(request)
        self.django_request = request
        self.credential = None
        self.client = None
