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
        return self._asking_first(request, queryset, "reject", "Reject", "rejected")

    @admin.action(description="Disable selected clients…", permissions=["manage"])
    def disable_selected(self, request, queryset):
        return self._asking_first(request, queryset, "disable", "Disable", "disabled")

    def _asking_first(self, request, queryset, key: str, verb: str, done: str):
        """The first POST shows how many of the selected clients change and what happens to them
        (views.STATUS_ACTIONS, as on a client's own status page); the confirmation's POST writes."""
        new_status, applies_to, _button, consequence = views.STATUS_ACTIONS[key]
        if not admin_confirm.confirmed(request):
            return admin_confirm.ask(
                self,
                request,
                action=f"{key}_selected",
                count=queryset.filter(status__in=applies_to).count(),
                noun="client",
                nouns="clients",
                verb=verb,
                done=done,
                consequence=consequence,
            )
        return self._set_status(request, queryset, new_status, applies_to, done)
