"""The sign-in page (`/accounts/login/`): Django's LoginView, aware of the authorization request
that sent the person here (`next`).

It names the app, prefills OpenID Connect's `login_hint`, and lets its form's submission end
where that request will end. Chromium applies CSP `form-action` to every redirect that follows a
form submission: signing in redirects to /oauth/authorize, which (consent remembered, or an
error for the client) redirects at once to the client's redirect URI. With the site's
`form-action 'self'` the browser blocks that last hop and the person stays on the sign-in page
(found by mozilla-django-oidc's relying party in tests/interop). So the page's `form-action`
also lists the origin of that redirect URI, and only when it is one the client registered: the
form can still post nowhere else.
"""

from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.views import LoginView
from django.urls import reverse

from server import sign_in_checks
from server.csp_sources import csp_source_of
from server.models import MAX_CLIENT_ID_LENGTH, Client


def _authorization_request(next_url: str) -> tuple[Client, dict[str, list[str]]] | None:
    """The active client and the query of an authorization request in `next_url`, or None.

    Only a same-site path to the authorization endpoint (LoginView has already dropped an
    unsafe `next`); an unknown, pending or disabled client is None."""
    parts = urlsplit(next_url or "")
    if parts.scheme or parts.netloc or parts.path != reverse("oauth-authorize"):
        return None
    query = parse_qs(parts.query)
    client_ids = query.get("client_id") or [""]
    client_id = client_ids[0]
    if len(client_ids) != 1 or not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
        return None
    client = Client.objects.filter(client_id=client_id, status=Client.Status.ACTIVE).first()
    return (client, query) if client is not None else None


def requesting_app_name(next_url: str) -> str | None:
    """The name of the active client an authorization request in `next_url` comes from, or None:
    the name an operator approved, rendered escaped."""
    found = _authorization_request(next_url)
    return found[0].name if found else None


def return_origin(next_url: str) -> str | None:
    """The CSP source of the redirect URI the authorization request in `next_url` will answer
    at: its `redirect_uri` when the client registered it (the registered-URI check of the
    authorization endpoint), else the client's default; None when there is none."""
    found = _authorization_request(next_url)
    if found is None:
        return None
    client, query = found
    requested = query.get("redirect_uri") or []
    if len(requested) > 1:
        return None
    if requested:
        uri = requested[0] if client.check_redirect_uri(requested[0]) else None
    else:
        uri = client.get_default_redirect_uri()
    return csp_source_of(uri) if uri else None


class SignInView(LoginView):
    """Django's sign-in page, naming the app that sent the person here from /oauth/authorize."""

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        origin = return_origin(self.get_redirect_url())
        if origin:
            response._csp_update = {"form-action": [origin]}
        return response

    def get_initial(self):
        # OpenID Connect's login_hint: the account the app expects, typed in for the person.
        initial = super().get_initial()
        hint = sign_in_checks.login_hint_from(self.get_redirect_url())
        if hint:
            initial["username"] = hint
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["requesting_app"] = requesting_app_name(context.get(self.redirect_field_name, ""))
        return context
