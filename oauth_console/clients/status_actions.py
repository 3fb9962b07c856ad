"""The client list's status actions: approve, reject, disable the selected clients (one service
call per client; each sends its own signal). Reject and disable cannot be undone from the list
and ask first (oauth_console/admin_confirm.py); approve asks first on a page that shows each
app's settings and approves only those (oauth_console/clients/approval.py)."""

from django.contrib import admin, messages

from oauth_console import admin_confirm
from oauth_console.clients import approval, views
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

    @admin.action(description="Approve selected pending clients…", permissions=["manage"])
    def approve_selected(self, request, queryset):
        """The first POST lists each selected pending app's settings with their fingerprint; the
        confirmation's POST approves the apps still as shown and shows the others again (409)."""
        pending = list(queryset.filter(status=Client.Status.PENDING))
        changed = []
        if admin_confirm.confirmed(request):
            for client in pending:
                try:
                    services.set_client_status(
                        client,
                        Client.Status.ACTIVE,
                        actor=Actor.operator(request.user),
                        reason="approved in bulk",
                        reviewed=approval.shown(request, client),
                    )
                except services.ChangedSinceShown:
                    changed.append(client.pk)
            approved = len(pending) - len(changed)
            self.message_user(
                request, f"{approved} client{'s' if approved != 1 else ''} approved.", messages.SUCCESS
            )
            if not changed:
                return None
            pending = list(Client.objects.filter(pk__in=changed, status=Client.Status.PENDING))
        return approval.ask(
            self,
            request,
            action="approve_selected",
            title="Approve selected pending clients?",
            entries=[
                (client, approval.settings_rows(client), services.settings_fingerprint(client))
                for client in pending
            ],
            columns=("Setting", "Value"),
            consequence=views.STATUS_ACTIONS["approve"][3],
            changed=bool(changed),
        )

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
