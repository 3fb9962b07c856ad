"""Views of the developer portal. Thin: forms validate, `server.services` writes, selectors read.

Every view that takes a client id looks it up among the signed-in developer's own apps, so
anyone else's id answers 404 exactly like an id that does not exist.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from oauth_console.clients import shown_once
from oauth_console.clients.forms import OIDC_FIELDS
from oauth_console.portal import selectors
from oauth_console.portal.forms import (
    ClientEditForm,
    ClientForm,
    DeveloperSignupForm,
    RotateSecretForm,
    add_policy_error,
)
from server import credentials, policies, ratelimit, services
from server.actors import Actor
from server.models import Client


def _redirect_to_secret(request: HttpRequest, client: Client, secret: str | None, kind: str):
    """Keep `secret` for one showing (see `shown_once`) and send the browser to the page that shows it."""
    shown_once.keep(request, shown_once.client_slot(client.pk), secret, kind)
    return redirect("portal:client_secret", client_id=client.client_id)


def home(request: HttpRequest) -> HttpResponse:
    """The portal's front page: a welcome for visitors, the list of apps for developers."""
    if not request.user.is_authenticated:
        return render(request, "portal/welcome.html", {"self_signup": settings.PORTAL_SELF_SIGNUP})
    return render(request, "portal/client_list.html", {"clients": selectors.developer_clients(request.user)})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create a developer account, when the operator allows self sign-up."""
    if not settings.PORTAL_SELF_SIGNUP:
        raise Http404("Self sign-up is turned off.")
    if request.user.is_authenticated:
        return redirect("portal:home")
    # Every attempt counts, per address: a taken user name is refused, so unbounded attempts
    # would list the accounts (see DeveloperSignupForm).
    if throttled := ratelimit.throttle_form_post(request, "signup"):
        return throttled
    form = DeveloperSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.sign_up_developer(
            username=data["username"], email=data["email"], password=data["password1"]
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your developer account is ready.")
        return redirect("portal:home")
    return render(request, "portal/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def client_create(request: HttpRequest) -> HttpResponse:
    """Register a new app, then show its secret once (`client_secret`)."""
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            client, secret = services.create_client(
                name=data["name"],
                description=data["description"],
                client_uri=data["client_uri"],
                logo_uri=data["logo_uri"],
                policy_uri=data["policy_uri"],
                tos_uri=data["tos_uri"],
                redirect_uris=data["redirect_uris"],
                client_type=data["client_type"],
                grant_types=data["grant_types"],
                scope=data["scope"],
                **{name: data[name] for name in OIDC_FIELDS},
                **{k: v for k, v in form.auth_settings().items() if v is not None},
                owner=request.user,
                source=Client.Source.PORTAL,
                status=Client.Status.ACTIVE if settings.PORTAL_AUTO_APPROVE else Client.Status.PENDING,
                actor=Actor.developer(request.user),
            )
        except policies.PolicyError as error:
            add_policy_error(form, error)
        else:
            return _redirect_to_secret(request, client, secret, "created")
    return render(request, "portal/client_form.html", {"form": form, "creating": True})


@login_required
def client_detail(request: HttpRequest, client_id: str) -> HttpResponse:
    """Everything about one of my apps except its secrets' values."""
    client = selectors.developer_client(request.user, client_id)
    return render(
        request,
        "portal/client_detail.html",
        {"client": client, "secrets": client.secrets.all(), "scopes": policies.configured_scopes()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def client_edit(request: HttpRequest, client_id: str) -> HttpResponse:
    """Change one of my apps' settings."""
    client = selectors.owned_client(request.user, client_id)
    form = ClientEditForm(request.POST or None, client=client, initial=ClientEditForm.initial_for(client))
    if request.method == "POST" and form.is_valid():
        try:
            # Unless operators trust every portal app (PORTAL_AUTO_APPROVE), a change to what end
            # users judge an approved app by waits for an operator.
            write = (
                services.update_client if settings.PORTAL_AUTO_APPROVE else services.propose_client_changes
            )
            client = write(client, actor=Actor.developer(request.user), **form.service_changes())
        except policies.PolicyError as error:
            add_policy_error(form, error)
        else:
            if client.pending_changes:
                messages.info(
                    request, "Saved. The new name, addresses or logo wait for an operator's review."
                )
            else:
                messages.success(request, "Your changes are saved.")
            return redirect("portal:client_detail", client_id=client.client_id)
    return render(request, "portal/client_form.html", {"form": form, "client": client})


@login_required
@require_http_methods(["GET", "POST"])
def client_rotate_secret(request: HttpRequest, client_id: str) -> HttpResponse:
    """Issue a new secret for one of my apps; the old one keeps working for the grace period."""
    client = selectors.owned_client(request.user, client_id)
    if client.is_public:
        response = render(request, "portal/client_rotate.html", {"client": client})
        response.status_code = 400 if request.method == "POST" else 200
        return response
    form = RotateSecretForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            secret = services.rotate_client_secret(
                client,
                actor=Actor.developer(request.user),
                grace=services.GRACE_PERIODS[form.cleaned_data["grace"]],
            ).secret
        except policies.PolicyError as error:
            # An app an operator gave operator scopes: only an operator rotates its secret.
            form.add_error(None, str(error))
            return render(request, "portal/client_rotate.html", {"client": client, "form": form}, status=400)
        return _redirect_to_secret(request, client, secret, "rotated")
    return render(request, "portal/client_rotate.html", {"client": client, "form": form})


@login_required
@require_http_methods(["GET"])
def client_secret(request: HttpRequest, client_id: str) -> HttpResponse:
    """The secret of a new app or a rotation, shown on the first GET after it; then "already shown"."""
    client = selectors.owned_client(request.user, client_id)
    entry = shown_once.take(request, shown_once.client_slot(client.pk)) or {}
    secret, kind = entry.get("secret"), entry.get("kind")
    context = {
        "client": client,
        "secret": secret,
        "waiting": bool(entry),
        "created": kind == "created",
        "rotated": kind == "rotated",
    }
    if kind == "rotated" and secret:
        context["previous"] = client.secrets.exclude(digest=credentials.digest(secret)).order_by(
            "-created_at"
        )
    return shown_once.never_store(render(request, "portal/client_secret.html", context))


@login_required
@require_http_methods(["GET", "POST"])
def client_delete(request: HttpRequest, client_id: str) -> HttpResponse:
    """Delete one of my apps after a confirmation page; its tokens stop working at once."""
    client = selectors.developer_client(request.user, client_id)
    if request.method == "POST":
        name = client.name
        revoked = services.delete_client(client, actor=Actor.developer(request.user))
        messages.success(
            request,
            f"{name} is deleted; {revoked} active token{'s' if revoked != 1 else ''} stopped working.",
        )
        return redirect("portal:home")
    return render(request, "portal/client_confirm_delete.html", {"client": client})
