"""The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0), /oauth/logout.

GET or POST, from the relying party's page. The protocol (the `id_token_hint`, the client, the
registered `post_logout_redirect_uri` with `state`) is `server.oauth2.logout.EndSessionEndpoint`,
bound in `server.bindings.authorization_server`. This view decides about the person:

- a valid hint naming the signed-in user: signed out at once, then sent back to the client;
- no hint, or a hint for someone else: a confirmation page (the logout happens only on its
  POST, which carries the page's CSRF token: a link alone cannot sign anyone out, §6);
- nobody signed in: nothing to end, sent back (or shown a page);
- a hint this server did not issue, a client_id the hint was not issued to, an unknown client:
  an error page, never a redirect (§4).

Signing out is Django's `logout`; its `user_logged_out` signal ends the OP session and notifies
the session's clients (`server.receivers`, `services.end_browser_session`), whichever door the
sign-out came through. `ui_locales` and `logout_hint` are accepted and not used.

Front-Channel Logout 1.0 §3: when clients of the ended session registered a
`frontchannel_logout_uri`, the answer is a page that loads each in a hidden iframe and then goes
on to the post_logout_redirect_uri (static/oauth/frontchannel-logout.js, once every frame has
loaded or after a few seconds; a "Continue" link without script). Its Content-Security-Policy
`frame-src` lists exactly those pages' origins, for that one response.
"""

from django.contrib.auth import logout
from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.encoding import iri_to_uri
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from server import frontchannel
from server.bindings.authorization_server import authorization_server
from server.claims import subject_for
from server.csp_sources import csp_source_of
from server.issuer import issuer_for
from server.oauth2.errors import OAuth2Error
from server.oauth2.logout import LOGOUT_PARAMETERS, session_id_of

# Set on the request by this view: the client whose logout request ended the session (for the
# user_logged_out event, `server.receivers`).
LOGOUT_CLIENT_ATTRIBUTE = "oauth_logout_client"
# Set on the request by `server.receivers` when the sign-out ended an OP session: what it ended
# (`services.logout.EndedSession`), for the front-channel iframes.
ENDED_SESSION_ATTRIBUTE = "oauth_ended_session"
# The confirmation page's button (templates/oauth/logout_confirm.html renders both): only this
# exact value confirms; the field with any other value is a request like any other (asked again).
CONFIRM_FIELD = "confirm_logout"
CONFIRM_VALUE = "yes"


@csrf_exempt  # a relying party may POST the request (§2); the confirmation is CSRF-checked below
@never_cache
@require_http_methods(["GET", "POST"])
def end_session(request: HttpRequest) -> HttpResponse:
    """RP-Initiated Logout §2: end the signed-in person's session, then redirect when allowed."""
    if request.method == "POST" and request.POST.getlist(CONFIRM_FIELD) == [CONFIRM_VALUE]:
        return _confirmed(request)
    try:
        validated = authorization_server.validate_endpoint_request("end_session", request)
    except OAuth2Error as error:
        return _error_page(request, error)
    user = request.user
    if user.is_authenticated and not _hint_names(request, validated, user):
        return _confirmation_page(request, validated)
    return _sign_out_and_answer(request, validated)


@csrf_protect
def _confirmed(request: HttpRequest) -> HttpResponse:
    """The confirmation page's POST (its CSRF token checked by csrf_protect): the same request,
    validated again, then signed out."""
    try:
        validated = authorization_server.validate_endpoint_request("end_session", request)
    except OAuth2Error as error:
        return _error_page(request, error)
    return _sign_out_and_answer(request, validated)


def _hint_names(request: HttpRequest, validated, user) -> bool:
    """True when the request's verified id_token_hint was issued to this user (its `sub` as the
    hint's client sees it) in this browser session (its `sid`): an ID token of an earlier
    sign-in, which its RP keeps for ever, proves nothing about who asks now (§6: without that
    proof, the person is asked)."""
    claims = validated.id_token_claims
    if claims is None or validated.client is None:
        return False
    sid = session_id_of(request.session)
    if not sid or claims.get("sid") != sid:
        return False
    return claims.get("sub") == subject_for(user, validated.client)


def _sign_out_and_answer(request: HttpRequest, validated) -> HttpResponse:
    if request.user.is_authenticated:
        setattr(request, LOGOUT_CLIENT_ATTRIBUTE, validated.client)
        logout(request)
    framing = _frontchannel_page(request, continue_to=validated.redirect_uri, client=validated.client)
    if framing is not None:
        return framing
    if validated.redirect_uri:
        return _redirect_to_registered(validated.redirect_uri)
    return render(request, "oauth/logout_done.html", {"client": validated.client})


def _redirect_to_registered(uri: str) -> HttpResponse:
    """A 302 to a post_logout_redirect_uri the client registered (checked exactly, §3). Not
    HttpResponseRedirect: it refuses every scheme but http(s) and ftp, so a native app's
    registered private-use URI (`com.example.app:/done`, RFC 8252 §7.1) was a bare 400 after the
    person had been signed out (found by tests/properties/test_post_logout_redirect_uri_matching.py)."""
    response = HttpResponse(status=302)
    response["Location"] = iri_to_uri(uri)
    return response


def _frontchannel_page(request: HttpRequest, *, continue_to: str | None, client=None) -> HttpResponse | None:
    """The signed-out page with one hidden iframe per front-channel client of the session the
    sign-out ended, then on to `continue_to` (when given); None when there is none to frame.
    Its `frame-src` is exactly the frames' origins (django-csp's per-response replace; every
    other directive stays the site's)."""
    ended = getattr(request, ENDED_SESSION_ATTRIBUTE, None)
    if ended is None or not ended.frontchannel:
        return None
    frames = frontchannel.logout_frames(ended.frontchannel, issuer=issuer_for(request), sid=ended.sid)
    if not frames:
        return None
    context = {"frames": frames, "continue_to": continue_to or "", "client": client}
    response = render(request, "oauth/logout_frontchannel.html", context)
    response._csp_replace = {"frame-src": frontchannel.frame_sources(frames)}
    return response


def _confirmation_page(request: HttpRequest, validated) -> HttpResponse:
    data = validated.request.payload.data
    fields = [(name, data[name]) for name in LOGOUT_PARAMETERS if data.get(name)]
    context = {
        "client": validated.client,
        "fields": fields,
        "confirm_field": CONFIRM_FIELD,
        "confirm_value": CONFIRM_VALUE,
    }
    response = render(request, "oauth/logout_confirm.html", context)
    # Chromium applies form-action to the redirect that answers the form's POST: with 'self'
    # alone, "Sign out" did nothing when the app named its return URL. That URL was checked
    # against the client's registered ones (validated.redirect_uri); its origin, and only it, joins.
    origin = csp_source_of(validated.redirect_uri) if validated.redirect_uri else None
    if origin:
        response._csp_update = {"form-action": [origin]}
    return response


def _error_page(request: HttpRequest, error: OAuth2Error) -> HttpResponse:
    context = {"error": error.error, "description": error.description}
    return render(request, "oauth/logout_error.html", context, status=400)


class SiteLogoutView(LogoutView):
    """The site's own sign-out (Django's): when it ended an OP session whose clients registered a
    front-channel logout URI, their iframes are loaded first, then the browser goes where Django
    would have sent it."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        continue_to = response["Location"] if isinstance(response, HttpResponseRedirect) else None
        framing = _frontchannel_page(request, continue_to=continue_to)
        return response if framing is None else framing
