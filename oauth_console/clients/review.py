"""Operators review a developer's held changes to an approved app (services.propose_client_changes):
on the client's page ("Review held changes…": the change side by side, Approve or Reject) or, for
many clients at once, with the list's actions (approving asks first, on a page that shows each
client's held changes: oauth_console/clients/approval.py). Either approves only what it showed."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from oauth_console import admin_confirm
from oauth_console.admin_lookups import object_or_404
from oauth_console.clients import approval
from server import policies, services
from server.actors import Actor
from server.models import Client

MANAGE_PERMISSION = "server.manage_clients"
# decision -> (the service, what the message says was done)
DECISIONS = {
    "approve": (services.approve_client_changes, "approved"),
    "reject": (services.reject_client_changes, "rejected"),
}


class ClientReviewAdminMixin:
    """The admin's half of change review: what is held, shown on the client's page, and the
    approve / reject actions (one service call per client, each audited)."""

    @admin.display(description="changes to review")
    def pending_review(self, client) -> str:
        if not client.pending_changes:
            return "None"
        return format_html(
            "<p>The developer changed these; users see the current values until the change is "
            "approved (“Review held changes…” above).</p>"
            "<table><thead><tr><th>Field</th><th>Now</th><th>Proposed</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            held_rows(client),
        )

    def get_urls(self):
        view = self.admin_site.admin_view(lambda request, object_id: review_changes(request, self, object_id))
        return [
            path("<path:object_id>/held-changes/", view, name="server_client_review_changes"),
            *super().get_urls(),
        ]

    @admin.action(description="Approve held changes of selected clients…", permissions=["manage"])
    def approve_pending_changes(self, request, queryset):
        """The first POST lists each selected client's held changes with their fingerprint; the
        confirmation's POST approves the proposals still as shown and shows the others again."""
        held = list(queryset.exclude(pending_changes={}))
        changed, refused = [], []
        if admin_confirm.confirmed(request):
            for client in held:
                try:
                    services.approve_client_changes(
                        client, actor=Actor.operator(request.user), proposal=approval.shown(request, client)
                    )
                except services.ChangedSinceShown:
                    changed.append(client.pk)
                except policies.PolicyError as error:
                    refused.append(f"Not approved, {client.name}: {error}")
            done = len(held) - len(changed) - len(refused)
            plural = "s" if done != 1 else ""
            self.message_user(request, f"Held changes approved for {done} client{plural}.", messages.SUCCESS)
            for problem in refused:
                self.message_user(request, problem, messages.ERROR)
            if not changed:
                return None
            held = list(Client.objects.filter(pk__in=changed).exclude(pending_changes={}))
        return approval.ask(
            self,
            request,
            action="approve_pending_changes",
            title="Approve held changes of selected clients?",
            entries=[
                (client, held_rows(client), services.proposal_fingerprint(client.pending_changes))
                for client in held
            ],
            columns=("Field", "Now", "Proposed"),
            consequence="Users will see the proposed values at once.",
            changed=bool(changed),
        )

    @admin.action(description="Reject held changes of selected clients", permissions=["manage"])
    def reject_pending_changes(self, request, queryset):
        done = 0
        for client in queryset.exclude(pending_changes={}):
            services.reject_client_changes(client, actor=Actor.operator(request.user))
            done += 1
        self.message_user(
            request, f"Held changes rejected for {done} client{'s' if done != 1 else ''}.", messages.SUCCESS
        )


def held_rows(client: Client) -> str:
    """The held changes as table rows: field, current value, proposed value."""
    return format_html_join(
        "",
        '<tr><th scope="row">{}</th><td class="wrap-anywhere">{}</td><td class="wrap-anywhere">{}</td></tr>',
        (
            (field, getattr(client, field) or "(empty)", proposed or "(empty)")
            for field, proposed in client.pending_changes.items()
        ),
    )


def review_changes(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """GET: the held changes beside the current values, with Approve and Reject. POST
    (decision=approve|reject): one service call, then back to the client's page."""
    if not request.user.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied
    client = object_or_404(Client, object_id)
    site = model_admin.admin_site.name
    client_url = reverse("admin:server_client_change", args=[client.pk], current_app=site)
    if not client.pending_changes:
        messages.info(request, f"{client.name} has no held changes to review.")
        return HttpResponseRedirect(client_url)
    problem, status = "", 200
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        if decision not in DECISIONS:
            problem, status = "Choose Approve or Reject.", 400
        else:
            write, done = DECISIONS[decision]
            # Approve only the held changes this page showed (a hidden field), never a proposal
            # the developer swapped in since.
            shown = {"proposal": request.POST.get("proposal", "")} if decision == "approve" else {}
            try:
                write(client, actor=Actor.operator(request.user), **shown)
            except policies.PolicyError as error:
                problem, status = f"Not approved: {error}", 400
                client.refresh_from_db()
                if shown and shown["proposal"] != services.proposal_fingerprint(client.pending_changes):
                    status = 409  # the page below shows what is held now
                if not client.pending_changes:
                    messages.info(request, f"{client.name} has no held changes to review.")
                    return HttpResponseRedirect(client_url)
            else:
                messages.success(request, f"Held changes of {client.name} {done}.")
                return HttpResponseRedirect(client_url)
    context = {
        **model_admin.admin_site.each_context(request),
        "console_section": "clients",
        "title": f"Review held changes: {client.name}",
        "client": client,
        "rows": held_rows(client),
        "proposal": services.proposal_fingerprint(client.pending_changes),
        "problem": problem,
        "client_url": client_url,
    }
    return TemplateResponse(request, "console/clients/review_changes.html", context, status=status)
