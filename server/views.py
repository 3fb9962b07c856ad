"""Protocol endpoints: authorize (with consent), token, revoke, introspect, metadata, /api/me.

Thin: the RFC logic is in `server.oauth2` (on authlib), our models' hooks in `server.bindings`, every
write in `server.services`.
"""

import functools
import logging
from urllib.parse import urlencode

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from server import apis, policies, services, sign_in_checks, signals
from server.bindings import authorization_server, issuer_for, require_oauth
from server.conf import server_settings
from server.consent_page import (
    APPROVE_FIELD,
    CONSENT_PAGE_CSP,
    DENY_FIELD,
    approved,
    claims_to_consent,
    consent_covers,
    consent_headers,
    render_consent_page,
)
from server.oauth2 import OAuth2Error, json_error_response, no_store
from server.oauth2.client_assertion import ASSERTION_ALGORITHMS
from server.oauth2.errors import require_methods

logger = logging.getLogger(__name__)


# Django's InterfaceError (a connection already closed) is not a DatabaseError; both are Errors.
DATABASE_ERRORS = (DatabaseError, InterfaceError)


def _database_failure(error: Exception) -> tuple[str, str, int] | None:
    """(error, description, status) for a database error, or None when it is a bug to surface.

    Only a lost or refused connection is an outage (OperationalError, InterfaceError): retrying
    later helps. A DataError (a value too long, or a NUL byte, for its column) or an
    IntegrityError (a row that contradicts another) is the request, not the database: a 503
    would tell the client to retry a request that can never succeed, and hide a validation gap.
    """
    if isinstance(error, OperationalError | InterfaceError):
        return "temporarily_unavailable", "The server cannot reach its database; try again shortly.", 503
    if isinstance(error, DataError | IntegrityError):
        return "invalid_request", "The request contains a value that cannot be stored.", 400
    return None


def _log_database_failure(request: HttpRequest, status: int) -> None:
    if status == 503:
        logger.exception("database unavailable at %s", request.path)
    else:
        # Validation should have refused the value: the traceback says where it slipped through.
        logger.exception("database refused a value at %s", request.path)


def database_outage_guard(view):
    """The RFC's JSON instead of a traceback when the database fails: 503
    `temporarily_unavailable` (with Retry-After) when it is down, 400 `invalid_request` when it
    refuses a value; Django reconnects on a later request by itself, so nothing else is needed
    to recover (tests/security/test_database_faults.py). A body over DATA_UPLOAD_MAX_MEMORY_SIZE,
    wherever it is first read, is a JSON 400 too (Django would answer an HTML page)."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return json_error_response(
                "invalid_request", f"The request body is too large (at most {limit} bytes).", 400
            )
        except DATABASE_ERRORS as exc:
            failure = _database_failure(exc)
            if failure is None:
                raise
            error, description, status = failure
            _log_database_failure(request, status)
            if status == 503:
                signals.backing_service_failed.send_robust(
                    sender=database_outage_guard,
                    service="database",
                    error=type(exc).__name__,
                    request=request,
                )
            response = json_error_response(error, description, status)
            if status == 503:
                response["Retry-After"] = "5"
            return response

    return guarded


def protocol_endpoint(view):
    """Shared guard of the machine-facing endpoints: HTTPS outside DEBUG, no CSRF (clients
    authenticate themselves), and a JSON 503 instead of a traceback when the database is down."""
    view = database_outage_guard(view)

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs):
        if server_settings.OAUTH2_REQUIRE_HTTPS and not request.is_secure():
            return json_error_response("invalid_request", "This endpoint requires HTTPS.", 400)
        return view(request, *args, **kwargs)

    return csrf_exempt(guarded)


# --- authorization endpoint -------------------------------------------------------------------


def _authorization_error(request: HttpRequest, error: OAuth2Error) -> HttpResponse:
    """Redirect the error back to the client only when its redirect URI was verified;
    otherwise tell the person in the browser (RFC 6749 §4.1.2.1)."""
    if getattr(error, "redirect_uri", None):
        response = authorization_server.handle_error_response(request, error)
        # RFC 9207: every authorization response names its issuer, errors included.
        return authorization_server.add_issuer(request, response)
    context = {"error": error.error, "description": error.get_error_description(), "status": 400}
    return consent_headers(render(request, "oauth/error.html", context, status=400))


# The consent decision needs the CSRF token of the page it answers (csrf_protect, below); an
# authorization request sent as a form POST (OpenID Connect Core §3.1.2.1) comes from the client's
# site and has none, so the view itself is exempt and tells the two apart first.
@csrf_exempt
@never_cache
@csp_replace(CONSENT_PAGE_CSP)
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """RFC 6749 §4.1 authorization endpoint with a consent page (code flow + PKCE only)."""
    by_post = _authorization_request_by_post(request)
    if by_post is not None:
        return by_post
    return _authorize_with_consent(request)


# A consent form's fields: a POST carrying any of them is a decision, never a new request.
CONSENT_FORM_FIELDS = (APPROVE_FIELD, DENY_FIELD, "csrfmiddlewaretoken")
NEVER_IN_A_URL = ("client_secret", "code_verifier", "password")


def _authorization_request_by_post(request: HttpRequest) -> HttpResponse | None:
    """OpenID Connect Core §3.1.2.1: the authorization endpoint takes the request as a form POST
    as well as a GET (the conformance suite's oidcc-ensure-post-request-succeeds). Such a POST
    (parameters in the body, none in the URL, no consent decision) is answered with a 303 to this
    endpoint with the same parameters in the query: from there it is the GET flow, sign-in and
    consent page included, so a POST can do nothing that a link could not. The consent page's
    own POST (to the URL with its query, with a decision and its CSRF token) is not one of
    these; a forged decision without a query is not either, and meets the CSRF check."""
    if request.method != "POST" or request.META.get("QUERY_STRING"):
        return None
    if not request.POST or any(name in request.POST for name in CONSENT_FORM_FIELDS):
        return None
    # Never a credential in a URL: a client that posts its secret here (no authorization request
    # carries one) does not get it copied into the browser's history and our access logs.
    pairs = [
        (name, value)
        for name in request.POST
        if name not in NEVER_IN_A_URL
        for value in request.POST.getlist(name)
    ]
    return HttpResponseRedirect(request.path + "?" + urlencode(pairs), status=303)


@csrf_protect
def _authorize_with_consent(request: HttpRequest) -> HttpResponse:
    try:
        return _authorize(request)
    except DATABASE_ERRORS as exc:
        failure = _database_failure(exc)
        if failure is None:
            raise
        # A person is looking at this page: tell them, in the page's own words, not with a 500.
        error, description, status = failure
        _log_database_failure(request, status)
        context = {"error": error, "description": description, "status": status}
        # Rendered without the request: its session and user live in the database too.
        page = render_to_string("oauth/error.html", context)
        response = consent_headers(HttpResponse(page, status=status))
        if status == 503:
            response["Retry-After"] = "5"
        return response


def _authorize(request: HttpRequest) -> HttpResponse:
    if server_settings.OAUTH2_REQUIRE_HTTPS and not request.is_secure():
        return _authorization_error(
            request, OAuth2Error("This endpoint requires HTTPS.", error="invalid_request")
        )
    end_user = request.user if request.user.is_authenticated else None
    try:
        grant = authorization_server.validate_consent_request(request, end_user=end_user)
    except OAuth2Error as error:
        silent = "none" in (request.GET.get("prompt") or "").split()
        if end_user is None and getattr(error, "redirect_uri", None) and not silent:
            # RFC 9700 §4.11.2: a deliberately broken request (a bad scope, no PKCE) must not
            # bounce a visitor who has not even signed in to whatever site registered the
            # client. Sign in first; the error goes back to the client after that.
            return redirect_to_login(request.get_full_path())
        return _authorization_error(request, error)

    client = grant.client
    # The effective scope, resolved once by the grant (the client's default scopes when the
    # request named none): what the page shows, the consent records, the code and token carry.
    scope = grant.request.scope or ""
    redirect_uri = grant.request.payload.redirect_uri or client.get_default_redirect_uri() or ""
    prompt = (grant.request.payload.data.get("prompt") or "").split()
    if end_user is None:
        if "none" in prompt:
            return _authorization_error(request, _redirectable(grant, "login_required"))
        return sign_in_checks.sign_in_again(request)
    if request.method == "GET":
        try:
            stale = sign_in_checks.sign_in_needed(request, grant, end_user)
        except OAuth2Error as error:
            return _authorization_error(request, error)
        if stale:
            if "none" in prompt:
                return _authorization_error(request, _redirectable(grant, "login_required"))
            return sign_in_checks.sign_in_again(request)

    # OpenID Connect claims requested one by one that no requested scope covers: asked about on
    # the page, approved with it (the code gets exactly these: bindings.grants).
    claims = claims_to_consent(grant, scope)
    if request.method == "POST":
        # Only the Allow button's exact value approves; anything else is what Deny does.
        if approved(request):
            with transaction.atomic():
                services.record_consent(user=end_user, client=client, scope=scope, claims=claims)
                return authorization_server.create_authorization_response(request, grant_user=end_user)
        return authorization_server.create_authorization_response(request, grant_user=None)

    audience = getattr(grant.request, "resources", None) or []
    other_apis = any(value != apis.default_identifier(request) for value in audience)
    if "consent" not in prompt and consent_covers(
        end_user, client, scope, redirect_uri, claims=claims, other_apis=other_apis
    ):
        return authorization_server.create_authorization_response(
            request, grant_user=end_user, remembered=True
        )
    if "none" in prompt:
        return _authorization_error(request, _redirectable(grant, "consent_required"))
    return render_consent_page(
        request,
        client=client,
        scope=scope,
        user=end_user,
        redirect_host=redirect_uri.split("/")[2] if "://" in redirect_uri else redirect_uri,
        form_action=request.get_full_path(),
        audience=audience,
        claims=claims,
        claims_request=grant.request.payload.data.get("claims"),
    )


def _redirectable(grant, error: str) -> OAuth2Error:
    """An error for a verified client and redirect URI, so it goes back to the client."""
    return OAuth2Error(
        error=error,
        redirect_uri=grant.request.payload.redirect_uri or grant.client.get_default_redirect_uri(),
        state=grant.request.payload.state,
    )


# --- token, revocation, introspection ---------------------------------------------------------


@protocol_endpoint
def token(request: HttpRequest) -> HttpResponse:
    """RFC 6749 §3.2 token endpoint."""
    return authorization_server.create_token_response(request)


@protocol_endpoint
def revoke(request: HttpRequest) -> HttpResponse:
    """RFC 7009 token revocation."""
    return authorization_server.create_revocation_response(request)


@protocol_endpoint
def introspect(request: HttpRequest) -> HttpResponse:
    """RFC 7662 token introspection."""
    return authorization_server.create_introspection_response(request)


# --- discovery and a protected resource -------------------------------------------------------


# The public documents refuse another method as every machine endpoint does (JSON 405, no-store):
# the refusal is not the document, so it is not cached like one.
@require_methods("GET", "HEAD")
def server_metadata(request: HttpRequest) -> JsonResponse:
    """RFC 8414 authorization server metadata."""
    return metadata_response(authorization_server_metadata(request))


@require_methods("GET", "HEAD")
def protected_resource_metadata(request: HttpRequest) -> JsonResponse:
    """RFC 9728 metadata of this server's own API (the resource `require_oauth` guards)."""
    return metadata_response(require_oauth.protected_resource.metadata(request))


def metadata_response(metadata: dict) -> JsonResponse:
    """A metadata document: public, cacheable for an hour, readable from any origin."""
    response = JsonResponse(metadata)
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def authorization_server_metadata(request: HttpRequest) -> dict:
    """The RFC 8414 document (OpenID's discovery document is built on it)."""
    issuer = issuer_for(request)

    def url(name: str) -> str:
        return issuer + reverse(name)

    assertion_algs = list(ASSERTION_ALGORITHMS)
    metadata = {
        "issuer": issuer,
        "authorization_endpoint": url("oauth-authorize"),
        "token_endpoint": url("oauth-token"),
        "revocation_endpoint": url("oauth-revoke"),
        "introspection_endpoint": url("oauth-introspect"),
        "device_authorization_endpoint": url("oauth-device-authorization"),
        "jwks_uri": url("oauth-jwks"),
        "scopes_supported": list(policies.configured_scopes()),
        "response_types_supported": list(policies.SUPPORTED_RESPONSE_TYPES),
        "response_modes_supported": ["query"],
        "grant_types_supported": list(policies.SUPPORTED_GRANT_TYPES),
        # RFC 8414 §2: what each endpoint accepts, read from the endpoint (public clients revoke).
        **{
            f"{name}_endpoint_auth_methods_supported": authorization_server.endpoint_auth_methods(name)
            for name in ("token", "revocation", "introspection")
        },
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": issuer + "/",
    }
    try:
        metadata["registration_endpoint"] = url("oauth-register")
    except Exception:
        logger.debug("no registration endpoint configured")
    return metadata


@protocol_endpoint
@require_methods("GET", "HEAD", "POST")  # POST: the token as a form field (RFC 6750 §2.2)
@require_oauth("profile")
def api_me(request: HttpRequest) -> JsonResponse:
    """A small protected resource: who the token speaks for, and for which client."""
    token = request.oauth_token
    user = token.user
    body = {
        "client_id": token.client.client_id,
        "client_name": token.client.name,
        "scope": token.scope,
        "user": None,
    }
    if user is not None:
        body["user"] = {"id": user.pk, "username": user.get_username()}
        if "email" in token.scope.split():
            body["user"]["email"] = user.email
    # Who a bearer token speaks for, and their email: never kept by a cache, as UserInfo is.
    return no_store(JsonResponse(body))


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"issuer": issuer_for(request)})
