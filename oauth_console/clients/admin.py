"""Clients in the admin. Thin: forms validate through policies, views and hooks call services."""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, JSON, XLSX

from oauth_console import admin_cells as cells
from oauth_console.admin_read_only import ReadOnlyAdminMixin
from oauth_console.clients import import_files, import_report, shown_once, views
from oauth_console.clients.changelist import ClientChangeList
from oauth_console.clients.forms import OIDC_FIELDS, ClientSettingsForm, for_user
from oauth_console.clients.resources import ClientResource
from oauth_console.clients.review import ClientReviewAdminMixin
from oauth_console.clients.status_actions import ClientStatusActionsMixin
from oauth_console.spreadsheets import SpreadsheetSafeExportMixin
from server import policies, selectors, services
from server.actors import Actor
from server.models import Client, ClientSecret, Token


class ClientSecretInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A client's secrets: prefix and dates only. The digest never reaches the page."""

    model = ClientSecret
    fields = ("masked_secret", "created_at", "expires_at", "last_used_at", "state", "expire_link")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name = "secret"
    verbose_name_plural = "secrets (shown once when created; only their beginnings are kept visible)"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).defer("digest").order_by("-created_at", "-pk")

    def get_fields(self, request: HttpRequest, obj=None):
        if request.user.has_perm(views.ROTATE_PERMISSION):
            return self.fields
        return tuple(name for name in self.fields if name != "expire_link")

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("server.view_client") or request.user.has_perm(views.MANAGE_PERMISSION)

    @admin.display(description="secret")
    def masked_secret(self, secret: ClientSecret) -> str:
        return f"{secret.prefix}…"

    @admin.display(description="state")
    def state(self, secret: ClientSecret) -> str:
        if secret.is_expired:
            return "expired"
        return "active (grace period)" if secret.expires_at else "active"

    @admin.display(description="")
    def expire_link(self, secret: ClientSecret) -> str:
        # A change form POSTed with secrets-TOTAL_FORMS above the secrets' count (a forged or
        # stale form) re-renders with empty rows of no secret: nothing to link to (was a 500).
        if secret.pk is None or secret.is_expired:
            return ""
        url = reverse("admin:server_client_expire_secret", args=[secret.client_id, secret.pk])
        return format_html('<a class="button expire-secret" href="{}">Expire now</a>', url)


class GrantTypeFilter(admin.SimpleListFilter):
    title = "grant type"
    parameter_name = "grant_type"

    def lookups(self, request, model_admin):
        return [(grant, grant) for grant in policies.SUPPORTED_GRANT_TYPES]

    def queryset(self, request, queryset):
        # No supported grant type's name contains another's, so a substring match is exact.
        if self.value() in policies.SUPPORTED_GRANT_TYPES:
            return queryset.filter(grant_types__contains=self.value())
        return queryset


@admin.register(Client)
class ClientAdmin(
    ClientStatusActionsMixin,
    ClientReviewAdminMixin,
    SpreadsheetSafeExportMixin,
    ImportExportMixin,
    admin.ModelAdmin,
):
    """List, create, change, disable, approve, rotate, import and export clients."""

    form = ClientSettingsForm
    resource_classes = [ClientResource]
    import_formats = import_files.IMPORT_FORMATS  # CSV, JSON, XLSX, read strictly
    export_formats = [CSV, JSON, XLSX]
    import_form_class = import_files.ClientImportForm
    import_template_name = "console/clients/import.html"
    change_form_template = "console/clients/client_change_form.html"

    list_display = (
        "list_name",
        "client_id",
        "list_owner",
        "client_type",
        "status_badge",
        "list_grant_types",
        "list_created_at",
        "active_tokens",
        "last_used",
    )
    list_filter = ("status", "client_type", GrantTypeFilter, "source")

    class Media:
        css = {"all": [cells.LIST_CSS, "console/clients/admin.css"]}

    search_fields = ("name", "client_id", "owner__username", "owner__email")
    list_select_related = ("owner",)
    ordering = ("-created_at",)
    actions = [
        "approve_selected",
        "reject_selected",
        "disable_selected",
        "approve_pending_changes",
        "reject_pending_changes",
    ]
    inlines = [ClientSecretInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "client_id",
                    "client_type",
                    "status_badge",
                    "status_reason",
                    "pending_review",
                    "owner",
                    "source",
                )
            },
        ),
        (
            "What it may do",
            {
                "fields": (
                    "redirect_uris",
                    "grant_types",
                    "scope",
                    "token_endpoint_auth_method",
                    "jwks",
                    "jwks_uri",
                )
            },
        ),
        (
            "About",
            {
                "fields": (
                    *("description", "client_uri", "logo_uri", "policy_uri", "tos_uri"),
                    *("contacts", "created_at", "updated_at"),
                )
            },
        ),
        ("Options", {"fields": ("require_consent", "can_introspect_any_token")}),
        ("OpenID Connect", {"fields": OIDC_FIELDS}),
    )
    readonly_fields = (
        "client_id",
        "client_type",
        "status_badge",
        "status_reason",
        "pending_review",
        "owner",
        "source",
        "created_at",
        "updated_at",
    )

    # --- permissions: view clients / manage clients / rotate secrets ---------------------------

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("server.view_client") or request.user.has_perm(views.MANAGE_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(views.MANAGE_PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(views.MANAGE_PERMISSION)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(views.MANAGE_PERMISSION)

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(views.MANAGE_PERMISSION)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_manage_permission(request)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    # --- list ---------------------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs):
        return ClientChangeList

    # Long names cut to the column, grant types one per line: the list fits 1366 px (admin_cells).
    @admin.display(description="name", ordering="name")
    def list_name(self, client: Client) -> str:
        return cells.shortened(client.name)

    @admin.display(description="owner", ordering="owner__username")
    def list_owner(self, client: Client) -> str:
        return cells.shortened(client.owner.get_username() if client.owner_id else "", kind="person")

    @admin.display(description="grant types")
    def list_grant_types(self, client: Client) -> str:
        return cells.one_per_line(client.grant_type_list)

    @admin.display(description="created", ordering="created_at")
    def list_created_at(self, client: Client) -> str:
        return cells.moment(client.created_at)

    @admin.display(description="status", ordering="status")
    def status_badge(self, client: Client) -> str:
        return format_html(
            '<span class="status-badge status-{}">{}</span>', client.status, client.get_status_display()
        )

    @admin.display(description="active tokens")
    def active_tokens(self, client: Client) -> int | str:
        stats = getattr(client, "token_stats", None)
        if not stats:
            return "—"
        as_of = getattr(client, "active_as_of", None)
        if as_of is None:
            return stats.active_tokens
        return format_html(
            '<span class="counted-earlier" title="counted at {} (too many to count on every view)">{}</span>',
            timezone.localtime(as_of).strftime("%H:%M:%S"),
            stats.active_tokens,
        )

    @admin.display(description="last used")
    def last_used(self, client: Client):
        stats = getattr(client, "token_stats", None)
        return cells.moment(stats.last_used_at) if stats and stats.last_used_at else "never"

    # --- pages --------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [
            path(
                "<path:object_id>/rotate-secret/",
                wrap(lambda request, object_id: views.rotate_secret(request, self, object_id)),
                name="server_client_rotate_secret",
            ),
            path(
                "import/secrets/",
                wrap(lambda request: views.imported_secrets(request, self)),
                name="server_client_imported_secrets",
            ),
            path(
                "<path:object_id>/secret/",
                wrap(lambda request, object_id: views.show_secret_once(request, self, object_id)),
                name="server_client_secret_once",
            ),
            path(
                "<path:object_id>/secrets/<int:secret_id>/expire/",
                wrap(
                    lambda request, object_id, secret_id: views.expire_secret(
                        request, self, object_id, secret_id
                    )
                ),
                name="server_client_expire_secret",
            ),
            path(
                "<path:object_id>/status/<slug:action>/",
                wrap(
                    lambda request, object_id, action: views.change_status(request, self, object_id, action)
                ),
                name="server_client_change_status",
            ),
        ]
        return custom + super().get_urls()

    def history_view(self, request: HttpRequest, object_id, extra_context=None):
        # The client's audit events: services write every change, ModelAdmin's LogEntry sees none.
        return views.client_history(request, self, object_id)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        # A ModelAdmin save would bypass services and lose the secret: a view of our own instead.
        return views.create_client(request, self)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_manage": self.has_manage_permission(request),
            "can_rotate": request.user.has_perm(views.ROTATE_PERMISSION),
            "can_revoke": request.user.has_perm("server.revoke_tokens"),
            "status_actions": views.STATUS_ACTIONS,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        return for_user(super().get_form(request, obj, change=change, **kwargs), request.user)

    def save_model(self, request: HttpRequest, obj: Client, form, change: bool) -> None:
        # The form's _post_clean left `obj` as stored; the service compares and writes.
        services.update_client(obj, actor=Actor.operator(request.user), **form.service_changes())

    def delete_model(self, request: HttpRequest, obj: Client) -> None:
        services.delete_client(obj, actor=Actor.operator(request.user))

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for client in queryset:
            services.delete_client(client, actor=Actor.operator(request.user))

    def get_deleted_objects(self, objs, request: HttpRequest):
        # Django would list every token of the client on the page (500k rows); a count will do.
        clients = list(objs)
        tokens = Token.objects.filter(client__in=clients).count()
        secrets = ClientSecret.objects.filter(client__in=clients).count()
        stats = selectors.client_token_stats([client.pk for client in clients])
        active = sum(stat.active_tokens for stat in stats.values())
        summary = [str(client) for client in clients]
        counts = {
            "clients": len(clients),
            "secrets": secrets,
            "tokens": tokens,
            "active tokens (they stop working at once)": active,
        }
        perms_needed = set() if self.has_delete_permission(request) else {"client"}
        return summary, counts, perms_needed, []

    # --- import: every row through services.create_client; new secrets shown once -------------

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs) -> dict:
        return {
            **super().get_import_resource_kwargs(request, **kwargs),
            "actor": Actor.operator(request.user),
        }

    def add_data_read_fail_error_to_form(self, form, e: Exception) -> None:
        # import-export would show the exception's class name ("'BadZipFile' encountered…").
        form.add_error("import_file", import_files.read_error_message(e))

    def import_action(self, request: HttpRequest, **kwargs):
        response = super().import_action(request, **kwargs)
        result = getattr(response, "context_data", {}).get("result")
        if result is not None:
            # Our template lists these instead of import-export's tracebacks and hover badges.
            response.context_data["file_problems"] = import_report.file_problems(result)
            response.context_data["row_problems"] = import_report.row_problems(result)
        return response

    def process_import(self, request: HttpRequest, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except FileNotFoundError:
            # The file is gone once imported: a resubmitted confirmation, or one left too long.
            messages.warning(
                request, "This import was already done (or waited too long): nothing was imported again."
            )
            return HttpResponseRedirect(reverse("admin:server_client_changelist"))

    def process_result(self, result, request: HttpRequest):
        if result.has_errors() or result.has_validation_errors():
            # The confirmation found a row it refuses (the resource rolled every row back):
            # import-export would count the rolled-back rows as imported.
            problems = import_report.row_problems(result)
            listed = "; ".join(
                f"row {p.row}{f' ({p.field})' if p.field else ''}: {p.message}" for p in problems[:5]
            )
            messages.error(request, f"Nothing was imported: {listed or 'a row was refused'}")
            return HttpResponseRedirect(reverse("admin:server_client_import"))
        response = super().process_result(result, request)
        secrets = getattr(result, "issued_secrets", [])
        if not secrets:
            return response
        # Shown once by a GET after this redirect, as for a single client (`shown_once`).
        shown_once.keep(request, views.IMPORT_SLOT, [list(row) for row in secrets], "imported")
        return HttpResponseRedirect(reverse("admin:server_client_imported_secrets"))


from oauth_console.clients import api_admin  # noqa: E402, F401
