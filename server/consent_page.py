"""The consent page, shared by the authorization endpoint (`server.views.authorize`) and the
device verification page (`server.device_views`): one template, one set of headers, one policy.
What the page shows is exactly the scope the code or device will get."""

from csp.constants import NONE as CSP_NONE
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from server import apis, policies
from server.oauth2 import no_store

# The consent page's policy: the site's, never framed. form-action is dropped here only: after the
# consent form's POST the server redirects to the client's redirect URI, and Chromium applies
# form-action to every redirect of a form submission, so 'self' would block the answer to every
# client. The redirect URI was checked against the client's registered ones before the page was
# shown; the page itself has no other form target to protect (no inline script can run).
CONSENT_PAGE_CSP = {"frame-ancestors": [CSP_NONE], "form-action": None}


def consent_headers(response: HttpResponse) -> HttpResponse:
    """Never framed (clickjacking), never cached, no Referer leak of the page's query."""
    # The page's own <meta> relaxes Referrer-Policy to same-origin: under no-referrer a browser
    # sends "Origin: null" with the consent form's POST and Django's CSRF check would refuse it;
    # other origins still get nothing. The Content-Security-Policy is the site's (django-csp,
    # oauth_console/settings/base.py) as changed by CONSENT_PAGE_CSP on the view; setting the
    # header here would replace the whole policy.
    response["X-Frame-Options"] = "DENY"
    response["Referrer-Policy"] = "no-referrer"
    return no_store(response)


def scope_descriptions(scope: str) -> list[tuple[str, str]]:
    """(name, the text people read) of each scope in `scope`."""
    known = policies.configured_scopes()
    return [(name, known.get(name, name)) for name in (scope or "").split()]


def render_consent_page(
    request: HttpRequest,
    *,
    client,
    scope: str,
    user,
    form_action: str,
    redirect_host: str = "",
    device_user_code: str = "",
    hidden_fields: tuple[tuple[str, str], ...] = (),
    audience: list[str] | tuple[str, ...] = (),
) -> HttpResponse:
    """The consent page for `client` asking `user` for `scope`. The authorization endpoint names
    where the answer goes (`redirect_host`) and the APIs the token will be for (`audience`, RFC
    8707: the scopes are grouped by API); the device page names the user code the person
    typed, to compare with the one on the device (RFC 8628 §5.4)."""
    groups = apis.scopes_by_api(scope, list(audience), request)
    context = {
        "client": client,
        "scopes": scope_descriptions(scope),
        "scope_groups": groups,
        # One group for this server alone reads as before: no heading.
        "scope_groups_named": len(groups) > 1 or any(g["identifier"] in audience for g in groups),
        "user": user,
        "redirect_host": redirect_host,
        "device_user_code": device_user_code,
        "hidden_fields": hidden_fields,
        "form_action": form_action,
    }
    return consent_headers(render(request, "oauth/consent.html", context))
