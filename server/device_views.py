"""The device flow's doors (RFC 8628): the device authorization endpoint (§3.1) and the page where
a signed-in person types the code their device shows and decides (§3.3).

The decision is made on the consent page of /oauth/authorize (`server.consent_page`), for exactly
the scope the device asked for (resolved by the authorization endpoint's rule when the device
asked), and is never taken silently from an earlier consent: there is no redirect URI to bind
the app's identity, and the code may come from someone else (a phishing attacker who started
the flow, §5.4), so the person always sees which app asks and for what.
"""

from csp.decorators import csp_replace
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from server import ratelimit, services, signals
from server.bindings import authorization_server
from server.bindings.device import find_waiting_device
from server.conf import server_settings
from server.consent_page import CONSENT_PAGE_CSP, approved, consent_headers, render_consent_page
from server.models import MAX_ROW_ID, DeviceAuthorization
from server.oauth2.device import format_user_code, normalize_user_code
from server.oauth2.digits import whole_number
from server.views import protocol_endpoint

# The device authorizations this session typed a right code for (the consent form names one).
SESSION_KEY = "server.device_authorizations"
# A session remembers the last few: enough for a person with a couple of tabs open.
MAX_REMEMBERED = 5
REFUSED_CODE = "That code is not valid, or it has expired. Check the code on your device and try again."


@protocol_endpoint
def device_authorization(request: HttpRequest) -> HttpResponse:
    """RFC 8628 §3.1 device authorization endpoint."""
    return authorization_server.create_endpoint_response("device_authorization", request)


@never_cache
@csp_replace(CONSENT_PAGE_CSP)
@require_http_methods(["GET", "POST"])
def device(request: HttpRequest) -> HttpResponse:
    """The verification page (`verification_uri`): sign in, type the code, decide."""
    if server_settings.OAUTH2_REQUIRE_HTTPS and not request.is_secure():
        context = {"error": "invalid_request", "description": "This page requires HTTPS.", "status": 400}
        return consent_headers(render(request, "oauth/error.html", context, status=400))
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        if "user_code" in request.POST:
            return _enter_code(request)
        return _decide(request)
    # verification_uri_complete prefills the code; it is never submitted by itself (§3.3.1: the
    # person compares it with the device). Only a well-formed code is put back into the page.
    prefill = normalize_user_code(request.GET.get("user_code"))
    return _entry_page(request, user_code=format_user_code(prefill) if prefill else "")


def _entry_page(
    request: HttpRequest, *, user_code: str = "", error: str = "", status: int = 200
) -> HttpResponse:
    context = {"user_code": user_code, "error": error, "user": request.user}
    return consent_headers(render(request, "oauth/device.html", context, status=status))


def _enter_code(request: HttpRequest) -> HttpResponse:
    throttled = ratelimit.check_user_code_attempt(request)
    if throttled is not None:
        return throttled
    code = normalize_user_code(request.POST.get("user_code"))
    found = find_waiting_device(code) if code else None
    if found is None:
        # Robust: a failing listener must not turn a refused code into a 500.
        signals.user_code_refused.send_robust(
            sender=device,
            request=request,
            user=request.user,
            reason="malformed" if code is None else "unknown",
        )
        return _entry_page(request, error=REFUSED_CODE, status=400)
    ratelimit.user_code_accepted(request)
    remembered = [pk for pk in request.session.get(SESSION_KEY, []) if pk != found.pk]
    request.session[SESSION_KEY] = [*remembered, found.pk][-MAX_REMEMBERED:]
    return render_consent_page(
        request,
        client=found.client,
        scope=found.scope,
        user=request.user,
        form_action=reverse("device"),
        device_user_code=format_user_code(code),
        hidden_fields=(("device_authorization", str(found.pk)),),
        # The scopes grouped under the APIs the device named (RFC 8707), as /oauth/authorize.
        audience=found.get_audience(),
    )


def _decide(request: HttpRequest) -> HttpResponse:
    value = request.POST.get("device_authorization", "")
    remembered = request.session.get(SESSION_KEY, [])
    pk = whole_number(value, maximum=MAX_ROW_ID)
    if pk is None or pk not in remembered:
        # Only a device this session typed the code of: the form cannot name another one.
        return _entry_page(request, error="Type the code shown on your device first.", status=400)
    request.session[SESSION_KEY] = [p for p in remembered if p != pk]
    found = DeviceAuthorization.objects.select_related("client").filter(pk=pk).first()
    # Only the consent form's Allow button approves (server.consent_page.approved); anything else denies.
    allowed = approved(request)
    if found is None or not found.client.is_active:
        decided = False
    elif allowed:
        decided = services.approve_device_authorization(found, user=request.user)
    else:
        decided = services.deny_device_authorization(found, user=request.user)
    context = {"approved": allowed and decided, "expired": not decided, "client": found and found.client}
    return consent_headers(render(request, "oauth/device_done.html", context, status=200 if decided else 400))
