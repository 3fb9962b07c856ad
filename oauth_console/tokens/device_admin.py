"""Device authorizations (RFC 8628) in the admin: which devices wait for a person, which were
approved and collected their token; open ones can be revoked (their polls get access_denied).
Codes are never shown: a row is named by its device code's display prefix."""

from django.contrib import admin
from django.http import HttpRequest

from oauth_console import admin_cells as cells
from oauth_console import admin_confirm
from oauth_console.admin_lookups import RefusedValuesAdminMixin
from oauth_console.admin_read_only import ReadOnlyAdminMixin
from oauth_console.tokens import views
from server import services
from server.actors import Actor
from server.models import DeviceAuthorization


@admin.register(DeviceAuthorization)
class DeviceAuthorizationAdmin(RefusedValuesAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only list and detail; the only change an operator makes is to revoke open ones."""

    list_display = (
        "masked_device_code",
        "list_client",
        "list_user",
        "scope",
        "status",
        "list_created_at",
        "list_expires_at",
    )
    list_select_related = ("client", "user")

    class Media:
        # The list stylesheet puts admin_cells.moment's date over its time (without it they ran
        # together: "2026-12-0619:07").
        css = {"all": [cells.LIST_CSS]}

    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=device_code_prefix",)
    search_help_text = "Exact device code prefix, e.g. odc_3fQ9xY1b (the first 12 characters)."
    ordering = ("-created_at",)
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    actions = ["revoke_selected"]
    fields = (
        "masked_device_code",
        "client",
        "user",
        "scope",
        "audience",
        "status",
        "interval",
        "created_at",
        "expires_at",
        "decided_at",
        "redeemed_at",
    )
    readonly_fields = fields

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(views.REVOKE_PERMISSION)

    @admin.display(description="device code")
    def masked_device_code(self, row: DeviceAuthorization) -> str:
        return f"{row.device_code_prefix}…"

    @admin.display(description="client")
    def list_client(self, row: DeviceAuthorization) -> str:
        return cells.shortened(row.client.name)

    @admin.display(description="user")
    def list_user(self, row: DeviceAuthorization) -> str:
        return cells.shortened(row.user.get_username() if row.user_id else "", kind="person")

    @admin.display(description="requested", ordering="created_at")
    def list_created_at(self, row: DeviceAuthorization) -> str:
        return cells.moment(row.created_at)

    @admin.display(description="expires", ordering="expires_at")
    def list_expires_at(self, row: DeviceAuthorization) -> str:
        return cells.moment(row.expires_at)

    @admin.action(description="Revoke selected device authorizations…", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset):
        """One UPDATE: the open ones among the selection stop waiting; their polls get access_denied.
        Asks first (oauth_console/admin_confirm.py)."""
        if not admin_confirm.confirmed(request):
            return admin_confirm.ask(
                self,
                request,
                action="revoke_selected",
                count=queryset.count(),
                noun="device authorization",
                nouns="device authorizations",
                verb="Revoke",
                done="revoked",
                consequence="The open ones stop waiting: their devices' polls get access_denied. "
                "Tokens already issued are not affected (revoke them on the token list).",
            )
        ids = sorted(int(pk) for pk in request.POST.getlist("_selected_action"))
        count = services.revoke_device_authorizations(
            queryset,
            actor=Actor.operator(request.user),
            reason="revoked in the console",
            criteria={"device_authorization_ids": ids},
        )
        self.message_user(request, f"{count} device authorization{'s' if count != 1 else ''} revoked.")
