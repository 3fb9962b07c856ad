"""The client list's status actions: approve, reject, disable the selected clients (one service
call per client; each sends its own signal). Reject and disable cannot be undone from the list
and ask first (oauth_console/admin_confirm.py)."""

from django.contrib import admin, messages

from oauth_console import admin_confirm
from oauth_console.clients import views
from server import services
from server.actors import Actor
from server.models import Client


class ClientStatusActionsMixin:
    def _set_status(self, request, queryset, status: str, applies_to: set, verb: str) -> None:
        changed = 0
        for client in queryset.filter(status__in=applies_to):
            services.set_client_status(
                client, status, actor=Actor.operator(request.user), reason=f"{verb} in bulk"
            )
            changed += 1
        skipped = queryset.count() - changed
        level = messages.SUCCESS if changed else messages.WARNING
        note = f" ({skipped} skipped: not in a state that can be {verb})" if skipped else ""
        self.message_user(request, f"{changed} client{'s' if changed != 1 else ''} {verb}{note}.", level)

    @admin.action(description="Approve selected pending clients", permissions=["manage"])
    def approve_selected(self, request, queryset):
        self._set_status(request, queryset, Client.Status.ACTIVE, {Client.Status.PENDING}, "approved")

    @admin.action(description="Reject selected pending clients…", permissions=["manage"])
    def reject_selected(self, request, queryset):
        if not admin_confirm.confirmed(request):
            pending = queryset.filter(status=Client.Status.PENDING).count()
            consequence = views.STATUS_ACTIONS["reject"][3]
            return self._confirm(request, "reject_selected", pending, "Reject", "rejected", consequence)
        self._set_status(request, queryset, Client.Status.REJECTED, {Client.Status.PENDING}, "rejected")

    @admin.action(description="Disable selected clients…", permissions=["manage"])
    def disable_selected(self, request, queryset):
        if not admin_confirm.confirmed(request):
            active = queryset.filter(status=Client.Status.ACTIVE).count()
            consequence = views.STATUS_ACTIONS["disable"][3]
            return self._confirm(request, "disable_selected", active, "Disable", "disabled", consequence)
        self._set_status(request, queryset, Client.Status.DISABLED, {Client.Status.ACTIVE}, "disabled")

    def _confirm(self, request, action: str, count: int, verb: str, done: str, consequence: str):
        noun = "client" if count == 1 else "clients"
        return admin_confirm.confirmation_page(
            self,
            request,
            action=action,
            title=f"{verb} selected clients?",
            count=count,
            summary=f"{count} {noun} will be {done}.",
            consequence=consequence,
            button=f"{verb} {count} {noun}",
        )
