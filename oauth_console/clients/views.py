"""Operator pages for one client: create, rotate its secret, expire a secret, change its status.

Served from the client's admin URLs (so the admin's login, staff check and CSRF apply) and
rendered in the site layout with crispy forms. Every write is one call to `server.services`.
A plain secret is shown by the GET that follows the POST which made it (`shown_once`): the
POST keeps it in the session and redirects, the page takes it out as it renders it, `no-store`.
A reload shows "already shown" and repeats nothing.
"""

import csv
import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from oauth_console import operator_scopes
from oauth_console.admin_lookups import object_or_404
from oauth_console.audit import selectors as audit_selectors
from oauth_console.clients import approval, shown_once
from oauth_console.clients.forms import ClientCreateForm, RotateSecretForm, StatusChangeForm
from server import policies, selectors, services
from server.actors import Actor
from server.models import Client, ClientSecret

MANAGE_PERMISSION = "server.manage_clients"
ROTATE_PERMISSION = "server.rotate_client_secret"
IMPORT_SLOT = "client-import"  # the shown_once slot of an import's new secrets

# action -> (new status, statuses it applies to, button text, what happens)
STATUS_ACTIONS = {
    "disable": (
        Client.Status.DISABLED,
        {Client.Status.ACTIVE},
        "Disable client",
        "It gets no new tokens and its existing tokens stop validating at once. Nothing is deleted.",
    ),
    "enable": (
        Client.Status.ACTIVE,
        {Client.Status.DISABLED},
        "Enable client",
        "It can get tokens again, and its tokens that have not expired validate again.",
    ),
    "approve": (
        Client.Status.ACTIVE,
        {Client.Status.PENDING, Client.Status.REJECTED},
        "Approve client",
        "The developer's client becomes active and can get tokens.",
    ),
    "reject": (
        Client.Status.REJECTED,
        {Client.Status.PENDING},
        "Reject client",
        "The client stays registered but can never get tokens unless approved later.",
    ),
}


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _context(request: HttpRequest, model_admin, **extra) -> dict:
    return {**model_admin.admin_site.each_context(request), "console_section": "clients", **extra}


def _client_page(client: Client, model_admin) -> str:
    return reverse("admin:server_client_change", args=[client.pk], current_app=model_admin.admin_site.name)


def _secret_page_url(client: Client, model_admin) -> str:
    return reverse(
        "admin:server_client_secret_once", args=[client.pk], current_app=model_admin.admin_site.name
    )


def redirect_to_secret(request: HttpRequest, model_admin, client: Client, secret: str | None, kind: str):
    """Keep `secret` for one showing and send the browser to the page that shows it."""
    shown_once.keep(request, shown_once.client_slot(client.pk), secret, kind)
    return HttpResponseRedirect(_secret_page_url(client, model_admin))


def show_secret_once(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """The one page that shows a plain secret, on its first GET after the create or rotate."""
    if not (request.user.has_perm(MANAGE_PERMISSION) or request.user.has_perm(ROTATE_PERMISSION)):
        raise PermissionDenied
    client = object_or_404(Client, object_id)
    entry = shown_once.take(request, shown_once.client_slot(client.pk))
    waiting, secret = entry is not None, (entry or {}).get("secret")
    headings = {"created": f"Client {client.name} created", "rotated": f"New secret for {client.name}"}
    heading = headings.get((entry or {}).get("kind"), f"Secret of {client.name}")
    response = TemplateResponse(
        request,
        "console/clients/secret_once.html",
        _context(
            request,
            model_admin,
            title=heading,
            heading=heading,
            client=client,
            secret=secret,
            waiting=waiting,
            client_url=_client_page(client, model_admin),
            rotate_url=reverse(
                "admin:server_client_rotate_secret", args=[client.pk], current_app=model_admin.admin_site.name
            ),
            can_rotate=request.user.has_perm(ROTATE_PERMISSION),
        ),
    )
    add_never_cache_headers(response)
    return response


def create_client(request: HttpRequest, model_admin) -> HttpResponse:
    """GET: the form. POST: create through services.create_client, then show the secret once."""
    _require(request, MANAGE_PERMISSION)
    form = ClientCreateForm(
        request.POST or None, operator_scopes_allowed=operator_scopes.held_by(request.user)
    )
    if request.method == "POST" and form.is_valid():
        try:
            client, secret = services.create_client(
                actor=Actor.operator(request.user), source=Client.Source.OPERATOR, **form.service_changes()
            )
        except policies.PolicyError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            return redirect_to_secret(request, model_admin, client, secret, "created")
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(
        request,
        "console/clients/client_form.html",
        _context(request, model_admin, title="Add client", form=form),
        status=status,
    )


def rotate_secret(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """GET: grace-period form and the client's secrets. POST: rotate, then show the new secret once."""
    _require(request, ROTATE_PERMISSION)
    client = object_or_404(Client, object_id)
    if client.is_public:
        raise Http404("A public client has no secret.")
    form = RotateSecretForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            secret = services.rotate_client_secret(
                client,
                actor=Actor.operator(request.user),
                grace=form.grace_period(),
                operator_scopes_allowed=operator_scopes.held_by(request.user),
            ).secret
        except policies.PolicyError as error:
            # A client holding operator scopes this person does not (finding 6, docs/security.md).
            raise PermissionDenied(str(error)) from None
        return redirect_to_secret(request, model_admin, client, secret, "rotated")
    return TemplateResponse(
        request,
        "console/clients/rotate_secret.html",
        _context(
            request,
            model_admin,
            title=f"Rotate the secret of {client.name}",
            client=client,
            form=form,
            secrets=selectors.client_secrets(client),
            client_url=_client_page(client, model_admin),
        ),
        status=400 if request.method == "POST" else 200,
    )


def expire_secret(request: HttpRequest, model_admin, object_id: str, secret_id: int) -> HttpResponse:
    """GET: confirm. POST: expire one of the client's secrets now."""
    _require(request, ROTATE_PERMISSION)
    secret = object_or_404(
        ClientSecret.objects.select_related("client").defer("digest"), secret_id, client_id=object_id
    )
    client_url = _client_page(secret.client, model_admin)
    if secret.is_expired:
        messages.info(request, f"The secret {secret.prefix}… has already expired.")
        return HttpResponseRedirect(client_url)
    if request.method == "POST":
        services.expire_client_secret(secret, actor=Actor.operator(request.user))
        messages.success(request, f"The secret {secret.prefix}… has expired: it no longer authenticates.")
        return HttpResponseRedirect(client_url)
    return TemplateResponse(
        request,
        "console/clients/expire_secret.html",
        _context(
            request,
            model_admin,
            title="Expire secret",
            secret=secret,
            client=secret.client,
            client_url=client_url,
        ),
    )


def change_status(request: HttpRequest, model_admin, object_id: str, action: str) -> HttpResponse:
    """GET: confirm with an optional reason (approving: the settings it approves). POST: set the
    client's status through services; an approval only of the settings this page showed (their
    fingerprint, posted back), else the page again with the settings as they are now (409)."""
    _require(request, MANAGE_PERMISSION)
    if action not in STATUS_ACTIONS:
        raise Http404("Unknown action.")
    new_status, applies_to, button, consequence = STATUS_ACTIONS[action]
    client = object_or_404(Client, object_id)
    client_url = _client_page(client, model_admin)
    if client.status not in applies_to:
        messages.warning(
            request, f"{client.name} is {client.get_status_display().lower()}: cannot {action} it."
        )
        return HttpResponseRedirect(client_url)
    form = StatusChangeForm(request.POST or None)
    problem, status = "", 200
    if request.method == "POST" and form.is_valid():
        shown = {"reviewed": request.POST.get("settings_fingerprint", "")} if action == "approve" else {}
        try:
            services.set_client_status(
                client,
                new_status,
                actor=Actor.operator(request.user),
                reason=form.cleaned_data["reason"],
                **shown,
            )
        except services.ChangedSinceShown as error:
            problem, status = str(error), 409  # the page below shows the settings as they are now
        else:
            messages.success(request, f"{client.name} is now {client.get_status_display().lower()}.")
            return HttpResponseRedirect(client_url)
    return TemplateResponse(
        request,
        "console/clients/change_status.html",
        _context(
            request,
            model_admin,
            title=f"{button}: {client.name}",
            client=client,
            form=form,
            action=action,
            button=button,
            consequence=consequence,
            client_url=client_url,
            problem=problem,
            settings_rows=approval.settings_rows(client) if action == "approve" else "",
            settings_fingerprint=services.settings_fingerprint(client),
        ),
        status=status,
    )


def _describe(value) -> str:
    """An audit detail value as words, not a Python repr."""
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_describe(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_describe(item) for item in value) or "—"
    if value in (None, ""):
        return "—"
    return str(value)


def _describe_detail(key: str, value) -> str:
    # client_changed records {"changes": {field: [old, new]}}.
    if key == "changes" and isinstance(value, dict):
        return "; ".join(
            f"{field}: {_describe(change[0])} → {_describe(change[1])}"
            if isinstance(change, list | tuple) and len(change) == 2
            else f"{field}: {_describe(change)}"
            for field, change in value.items()
        )
    return _describe(value)


def client_history(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """The admin's History page of a client: its audit events (every write goes through services,
    so Django's LogEntry history would be empty), and a link to the filtered audit log."""
    client = object_or_404(Client, object_id)
    if not model_admin.has_view_or_change_permission(request, client):
        raise PermissionDenied
    events = [
        (
            event,
            [(key.replace("_", " "), _describe_detail(key, value)) for key, value in event.detail.items()],
        )
        for event in audit_selectors.client_history(client.client_id)
    ]
    audit_url = audit_selectors.log_url_for_client(
        request.user, client.client_id, current_app=model_admin.admin_site.name
    )
    opts = model_admin.opts
    return TemplateResponse(
        request,
        "console/clients/client_history.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": f"History: {client.name}",
            "subtitle": None,
            "object": client,
            "opts": opts,
            "module_name": str(opts.verbose_name_plural).capitalize(),
            "events": events,
            "audit_url": audit_url,
        },
    )


def imported_secrets(request: HttpRequest, model_admin) -> HttpResponse:
    """The secrets of the clients an import just created, on the first GET after it; then gone."""
    _require(request, MANAGE_PERMISSION)
    entry = shown_once.take(request, IMPORT_SLOT)
    secrets = [tuple(row) for row in entry["secret"]] if entry else []
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["client_id", "name", "client_secret"])
    writer.writerows(secrets)
    page = TemplateResponse(
        request,
        "console/clients/import_secrets.html",
        _context(
            request,
            model_admin,
            title="Imported clients' secrets",
            secrets=secrets,
            waiting=entry is not None,
            secrets_csv=buffer.getvalue(),
        ),
    )
    add_never_cache_headers(page)
    return page
