"""The audit log in the admin: read-only for everyone, fast on ten million events, exportable."""

import json
from functools import cached_property

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from import_export.admin import ExportActionMixin
from import_export.formats.base_formats import CSV, JSON, XLSX

from oauth_console import admin_cells as cells
from oauth_console.admin_lookups import RefusedValuesChangeList
from oauth_console.admin_read_only import ReadOnlyAdminMixin
from oauth_console.admin_rows import FastRowsMixin, ListedColumnsChangeList
from oauth_console.audit import selectors
from oauth_console.audit.context import normalise_ip
from oauth_console.audit.export import AuditEventResource
from oauth_console.audit.filters import ClientFilter, DateRangeFilter, IPAddressFilter, UsernameFilter
from oauth_console.audit.models import AuditEvent
from oauth_console.paginators import EstimatedCountChangeList, EstimatedCountPaginator
from oauth_console.spreadsheets import SpreadsheetSafeExportMixin

# Count at most this many matching rows; beyond it the list says "more than" and the reviewer
# narrows the filters. A full COUNT(*) over millions of rows on every page is what this avoids.
COUNT_CAP = 10_000
# The admin's export builds the file in memory; bigger ranges belong to `export_audit_log`.
EXPORT_LIMIT = 100_000


class CappedCountPaginator(EstimatedCountPaginator):
    """Counts up to COUNT_CAP + 1 rows (a LIMITed subquery), never the whole table; none at all
    when PostgreSQL's planner expects far more (oauth_console.paginators)."""

    @cached_property
    def limit(self) -> int:
        return COUNT_CAP


class AuditChangeList(RefusedValuesChangeList, ListedColumnsChangeList, EstimatedCountChangeList):
    def get_results(self, request):
        super().get_results(request)
        self.count_capped = self.paginator.is_capped


def _admin_link(viewname: str, pk, text: str) -> str:
    """A link to another admin page, or the plain text when that admin is not installed."""
    try:
        return format_html('<a href="{}">{}</a>', reverse(viewname, args=[pk]), text)
    except NoReverseMatch:
        return text


# The detail page's fields that link to another admin page: the model each one leads to, and
# the field that says the same without the link. A reviewer who may read the log but not the
# clients (the `security` group) gets the plain one: no link that ends in a 403.
LINKED_FIELDS = {
    "client_link": ("server.Client", "client_text"),
    "user_link": (settings.AUTH_USER_MODEL, "user_text"),
    "token_link": ("server.Token", "token_text"),
}


@admin.register(AuditEvent)
class AuditEventAdmin(
    FastRowsMixin,
    cells.QuickActionCheckboxMixin,
    ReadOnlyAdminMixin,
    SpreadsheetSafeExportMixin,
    ExportActionMixin,
    admin.ModelAdmin,
):
    resource_classes = [AuditEventResource]
    formats = [CSV, JSON, XLSX]
    # The change form is a read-only detail page; its export button would POST to it.
    show_change_form_export = False
    # The list with the last verification under its title (import-export's list extends this one).
    change_list_template = "admin/audit/auditevent/change_list.html"

    list_display = (
        "list_occurred_at",
        "event_type",
        "outcome",
        "list_actor",
        "list_client_id",
        "list_username",
        "ip_address",
        "token_reference",
    )
    list_display_links = ("list_occurred_at", "event_type")
    # What the cells above read (admin_rows.ListedColumnsChangeList): not the detail JSON, the
    # user agent or the hashes.
    list_only = (
        "occurred_at",
        "event_type",
        "outcome",
        "actor_label",
        "client_id",
        "username",
        "ip_address",
        "token_id",
        "token_prefix",
    )

    class Media:
        css = {"all": [cells.LIST_CSS]}

    list_filter = ("event_type", "outcome", ClientFilter, UsernameFilter, IPAddressFilter, DateRangeFilter)
    search_fields = ("client_id", "username", "ip_address")
    search_help_text = "Exact client_id, username or IP address."
    ordering = ("-occurred_at", "-id")
    sortable_by = ("list_occurred_at",)
    list_per_page = 100
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    fields = (
        "id",
        "occurred_at",
        "event_type",
        "outcome",
        "actor_kind",
        "actor_label",
        "client_link",
        "user_link",
        "token_link",
        "ip_address",
        "user_agent",
        "request_id",
        "detail_pretty",
        "entry_hash",
    )
    readonly_fields = fields

    # --- nobody writes through the UI, superusers included ------------------------------------

    def has_export_permission(self, request) -> bool:
        # import-export allows any staff user by default; exporting is reading the log.
        return self.has_view_permission(request)

    # --- the list -------------------------------------------------------------------------------

    def get_changelist(self, request, **kwargs):
        return AuditChangeList

    def changelist_view(self, request, extra_context=None):
        # Verification is a command (a full walk does not fit in a request); the page says when
        # it last ran and what it found, so a reviewer knows whether the log was proved intact.
        extra_context = {**(extra_context or {}), "last_verification": selectors.last_verification()}
        return super().changelist_view(request, extra_context=extra_context)

    def get_search_results(self, request, queryset, search_term):
        # Exact matches on indexed columns; an IP lookup only for a valid address (PostgreSQL
        # would refuse to compare an inet column with arbitrary text).
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(client_id=term) | Q(username=term)
        ip = normalise_ip(term)
        if ip is not None:
            match |= Q(ip_address=ip)
        return queryset.filter(match), False

    # Values of any length cut to their column: the list fits 1366 px (admin_cells).
    @admin.display(description="occurred at", ordering="occurred_at")
    def list_occurred_at(self, event: AuditEvent) -> str:
        return cells.moment(event.occurred_at, seconds=True)

    @admin.display(description="actor")
    def list_actor(self, event: AuditEvent) -> str:
        return cells.shortened(event.actor_label, kind="identifier")

    @admin.display(description="client")
    def list_client_id(self, event: AuditEvent) -> str:
        return cells.shortened(event.client_id, kind="identifier") if event.client_id else ""

    @admin.display(description="user")
    def list_username(self, event: AuditEvent) -> str:
        return cells.shortened(event.username, kind="person") if event.username else ""

    @admin.display(description="token")
    def token_reference(self, event: AuditEvent) -> str:
        if event.token_id is None:
            return ""
        return f"#{event.token_id} {event.token_prefix}…" if event.token_prefix else f"#{event.token_id}"

    # --- the detail page ------------------------------------------------------------------------

    def get_fields(self, request, obj=None):
        return tuple(
            name
            if name not in LINKED_FIELDS or self._may_view(request, LINKED_FIELDS[name][0])
            else LINKED_FIELDS[name][1]
            for name in self.fields
        )

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def _may_view(self, request, model_label: str) -> bool:
        """Whether the user may open the admin pages of that model (its own admin decides)."""
        model = apps.get_model(model_label)
        if not self.admin_site.is_registered(model):
            return False
        return self.admin_site.get_model_admin(model).has_view_permission(request)

    def _client_pk(self, event: AuditEvent) -> int | None:
        from server.models import Client

        return Client.objects.filter(client_id=event.client_id).values_list("pk", flat=True).first()

    @admin.display(description="client")
    def client_link(self, event: AuditEvent) -> str:
        if not event.client_id:
            return "—"
        pk = self._client_pk(event)
        if pk is None:
            return format_html("{} (no longer exists)", event.client_id)
        return _admin_link("admin:server_client_change", pk, event.client_id)

    @admin.display(description="client")
    def client_text(self, event: AuditEvent) -> str:
        if not event.client_id:
            return "—"
        if self._client_pk(event) is None:
            return format_html("{} (no longer exists)", event.client_id)
        return event.client_id

    @admin.display(description="user")
    def user_link(self, event: AuditEvent) -> str:
        if event.user_id is None:
            return event.username or "—"
        return _admin_link("admin:auth_user_change", event.user_id, self.user_text(event))

    @admin.display(description="user")
    def user_text(self, event: AuditEvent) -> str:
        return event.username or (f"#{event.user_id}" if event.user_id is not None else "—")

    @admin.display(description="token")
    def token_link(self, event: AuditEvent) -> str:
        if event.token_id is None:
            return "—"
        return _admin_link("admin:server_token_change", event.token_id, self.token_reference(event))

    @admin.display(description="token")
    def token_text(self, event: AuditEvent) -> str:
        return self.token_reference(event) if event.token_id is not None else "—"

    @admin.display(description="detail")
    def detail_pretty(self, event: AuditEvent) -> str:
        return format_html(
            '<pre class="audit-detail">{}</pre>',
            json.dumps(event.detail, indent=2, sort_keys=True),
        )

    # --- export ---------------------------------------------------------------------------------

    def export_native_types(self, file_format) -> bool:
        # Numbers stay numbers in JSON; XLSX needs them anyway.
        return True

    def get_export_data(self, file_format, request, queryset, **kwargs):
        if not self.has_export_permission(request):
            raise PermissionDenied
        if queryset[: EXPORT_LIMIT + 1].count() > EXPORT_LIMIT:
            raise ValueError(
                f"More than {EXPORT_LIMIT:,} events match: narrow the filters, or use "
                "`manage.py export_audit_log --since … --until …` for big ranges."
            )
        # SpreadsheetSafeExportMixin: spreadsheets would evaluate "=..." from a user agent or
        # a typed user name.
        return super().get_export_data(file_format, request, queryset, **kwargs)
