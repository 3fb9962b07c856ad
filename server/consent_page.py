"""The consent page, shared by the authorization endpoint (`server.views.authorize`) and the
device verification page (`server.device_views`): one template, one set of headers, one policy.
What the page shows is exactly the scope the code or device will get, and the OpenID Connect
claims requested one by one (`claims` parameter) that no requested scope covers: approved with the
page, remembered with the consent, delivered exactly (`server.oauth2.claims_request`)."""

from csp.constants import NONE as CSP_NONE
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from server import apis, policies
from server.claims import consentable_claims_for
from server.conf import server_settings
from server.hotpath import sign_in
from server.oauth2 import no_store
from server.oauth2.claims_request import TARGETS, parse_claims_request, requested_claims
from server.oauth2.errors import InvalidRequestError
from server.oauth2.id_tokens import is_openid_request

# What people read for each claim the page may ask about (OIDC Core §5.1; claims_request.SCOPE_CLAIMS).
CLAIM_DESCRIPTIONS = {
    "name": "Your full name",
    "given_name": "Your first name",
    "family_name": "Your last name",
    "middle_name": "Your middle name",
    "nickname": "Your nickname",
    "preferred_username": "Your user name",
    "profile": "The address of your profile page",
    "picture": "Your profile picture",
    "website": "Your website",
    "gender": "Your gender",
    "birthdate": "Your date of birth",
    "zoneinfo": "Your time zone",
    "locale": "Your language and region",
    "updated_at": "When your profile was last changed",
    "email": "Your email address",
    "email_verified": "Whether your email address has been verified",
    "address": "Your postal address",
    "phone_number": "Your phone number",
    "phone_number_verified": "Whether your phone number has been verified",
}

# The consent page's policy: the site's, never framed. form-action is dropped here only: after the
# consent form's POST the server redirects to the client's redirect URI, and Chromium applies
# form-action to every redirect of a form submission, so 'self' would block the answer to every
# client. The redirect URI was checked against the client's registered ones before the page was
# shown; the page itself has no other form target to protect (no inline script can run).
CONSENT_PAGE_CSP = {"frame-ancestors": [CSP_NONE], "form-action": None}

# The consent form's decision, rendered into templates/oauth/consent.html from these names: only
# the Allow button's exact field and value approve. Any other value ("no", "0", "false", empty),
# a repeated one, or Allow and Deny together is no approval, answered as the Deny button is
# (access_denied to the validated redirect URI, RFC 6749 §4.1.2.1; a denied device, RFC 8628).
APPROVE_FIELD = "confirm"
APPROVE_VALUE = "yes"
DENY_FIELD = "deny"


def approved(request: HttpRequest) -> bool:
    """Whether the consent form's POST is its Allow button's (APPROVE_FIELD=APPROVE_VALUE, once,
    without DENY_FIELD); every other POST is a denial."""
    return request.POST.getlist(APPROVE_FIELD) == [APPROVE_VALUE] and DENY_FIELD not in request.POST


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


def claims_to_consent(grant, scope: str) -> list[str]:
    """The claims an OpenID request names one by one that no scope it asks for covers, and that
    the page asks about (`consentable_claims`); [] without `openid` or a claims parameter."""
    text = grant.request.payload.data.get("claims")
    if not text or not is_openid_request(scope):
        return []
    try:
        parsed = parse_claims_request(text)
    except InvalidRequestError:
        # Checked with the request already (OpenIDCode refuses it first); should one ever get
        # here unchecked, it asks about nothing rather than failing with a 500.
        return []
    return consentable_claims_for(parsed, scope, grant.client)


def _client_identity_is_assured(client, redirect_uri: str) -> bool:
    """Whether the redirect URI proves which app is asking. A confidential client proves it at
    the token endpoint; a public client's https URI is bound to its domain. A loopback or
    private-use-scheme URI can be claimed by any app on the device (RFC 8252 §8.6)."""
    return not client.is_public or redirect_uri.lower().startswith("https://")


def consent_covers(
    user, client, scope: str, redirect_uri: str, *, claims: list[str] = (), other_apis: bool = False
) -> bool:
    """Whether a remembered consent already approves `scope` (the request's effective scope) and
    the individually requested `claims` (`claims_to_consent`): one approved without them does not
    cover a request that asks for them.

    A remembered consent is of scope names, which are this server's (the default API's); a
    request naming another API (RFC 8707) asks every time: two APIs may define one scope name."""
    if client.require_consent or server_settings.OAUTH2_ALWAYS_ASK_CONSENT:
        return False
    if other_apis:
        return False
    if not _client_identity_is_assured(client, redirect_uri):
        return False
    granted = sign_in.consent_of(user.pk, client.pk)
    if granted is None:
        return False
    scopes, approved_claims = granted
    return set(scope.split()) <= set(scopes.split()) and set(claims) <= set(approved_claims.split())


def _claims_on_page(names: list[str], claims_request: str | None) -> list[tuple[str, str, bool]]:
    """(name, the text people read, whether the app marked it essential) of each claim asked about."""
    parsed = parse_claims_request(claims_request) if names else None
    essential = {
        name
        for target in TARGETS
        for name, spec in requested_claims(parsed, target).items()
        if isinstance(spec, dict) and spec.get("essential") is True
    }
    return [(name, CLAIM_DESCRIPTIONS.get(name, name), name in essential) for name in names]


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
    claims: list[str] = (),
    claims_request: str | None = None,
) -> HttpResponse:
    """The consent page for `client` asking `user` for `scope`. The authorization endpoint names
    where the answer goes (`redirect_host`) and the APIs the token will be for (`audience`, RFC
    8707: the scopes are grouped by API); the device page names the user code the person
    typed, to compare with the one on the device (RFC 8628 §5.4). `claims`: the claims requested
    one by one that the page asks about too (`claims_to_consent`), `claims_request` the request's
    claims parameter (which of them the app marked essential)."""
    groups = apis.scopes_by_api(scope, list(audience), request)
    context = {
        "client": client,
        "scopes": scope_descriptions(scope),
        "claims": _claims_on_page(list(claims), claims_request),
        "scope_groups": groups,
        # One group for this server alone reads as before: no heading.
        "scope_groups_named": len(groups) > 1 or any(g["identifier"] in audience for g in groups),
        "user": user,
        "redirect_host": redirect_host,
        "device_user_code": device_user_code,
        "hidden_fields": hidden_fields,
        "form_action": form_action,
        "approve_field": APPROVE_FIELD,
        "approve_value": APPROVE_VALUE,
        "deny_field": DENY_FIELD,
    }
    return consent_headers(render(request, "oauth/consent.html", context))
