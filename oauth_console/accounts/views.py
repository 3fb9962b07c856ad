"""The end user's account pages: the apps they authorized, and taking that access back."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from oauth_console.accounts import selectors
from server import policies, services
from server.actors import Actor
from server.consent_page import CLAIM_DESCRIPTIONS


def _described(scope_list: list[str], known: dict[str, str]) -> list[tuple[str, str]]:
    return [(scope, known.get(scope, "")) for scope in scope_list]


# Both pages say which apps can read the person's account: never stored, as the consent page is.
@never_cache
@login_required
def authorized_apps(request: HttpRequest) -> HttpResponse:
    """Every app the signed-in user has granted access to, with scopes, when, and last use."""
    known = policies.configured_scopes()
    consents = list(selectors.authorized_apps(request.user))
    for consent in consents:
        consent.described_scopes = _described(consent.scope_list, known)
        # OpenID Connect claims approved one by one on the consent page, beyond the scopes.
        consent.described_claims = _described(consent.claims.split(), CLAIM_DESCRIPTIONS)
    return render(request, "accounts/authorized_apps.html", {"consents": consents})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def revoke_access(request: HttpRequest, client_id: str) -> HttpResponse:
    """Confirm, then revoke every token of this user for the app and forget the consent."""
    consent = selectors.authorized_app(request.user, client_id)
    client = consent.client
    if request.method == "POST":
        services.revoke_consent(user=request.user, client=client, actor=Actor.user(request.user))
        messages.success(request, f"{client.name} can no longer use your account.")
        return redirect("accounts:authorized_apps")
    scopes = _described(consent.scope_list, policies.configured_scopes())
    return render(
        request, "accounts/revoke_access.html", {"consent": consent, "client": client, "scopes": scopes}
    )
