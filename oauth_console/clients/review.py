"""Operators review a developer's held changes to an approved app (services.propose_client_changes)."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from server import policies, services
from server.actors import Actor


class ClientReviewAdminMixin:
    """The admin's half of change review: what is held, shown on the client's page, and the
    approve / reject actions (one service call per client, each audited)."""

    @admin.display(description="changes to review")
    def pending_review(self, client) -> str:
        if not client.pending_changes:
            return "None"
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th>'
            '<td class="wrap-anywhere">{}</td><td class="wrap-anywhere">{}</td></tr>',
            (
                (field, getattr(client, field) or "(empty)", proposed or "(empty)")
                for field, proposed in client.pending_changes.items()
            ),
        )
        return format_html(
            "<p>The developer changed these; users see the current values until the change is "
            'approved (action "Approve held changes").</p>'
            "<table><thead><tr><th>Field</th><th>Now</th><th>Proposed</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )

    def _review(self, request, queryset, write, verb: str) -> None:
        done, refused = 0, []
        for client in queryset.exclude(pending_changes={}):
            try:
                write(client, actor=Actor.operator(request.user))
            except policies.PolicyError as error:
                refused.append(f"{client.name}: {error}")
            else:
                done += 1
        plural = "s" if done != 1 else ""
        self.message_user(request, f"Held changes {verb} for {done} client{plural}.", messages.SUCCESS)
        for problem in refused:
            self.message_user(request, f"Not approved, {problem}", messages.ERROR)

    @admin.action(description="Approve held changes of selected clients", permissions=["manage"])
    def approve_pending_changes(self, request, queryset):
        self._review(request, queryset, services.approve_client_changes, "approved")

    @admin.action(description="Reject held changes of selected clients", permissions=["manage"])
    def reject_pending_changes(self, request, queryset):
        self._review(request, queryset, services.reject_client_changes, "rejected")
