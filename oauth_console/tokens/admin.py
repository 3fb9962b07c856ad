"""Tokens in the admin: masked, read-only, fast on a million rows, revocable in bulk."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, JSON, XLSX

from oauth_console import admin_cells as cells
from oauth_console.admin_lookups import RefusedValuesChangeList
from oauth_console.admin_read_only import ReadOnlyAdminMixin
from oauth_console.admin_rows import FastRowsMixin, ListedColumnsChangeList
from oauth_console.paginators import EstimatedCountChangeList, EstimatedCountPaginator
from oauth_console.spreadsheets import SpreadsheetSafeExportMixin
from oauth_console.tokens import filters, views
from oauth_console.tokens.forms import RevokeReasonForm
from oauth_console.tokens.resources import TokenMetadataResource
from server import selectors, services
from server.actors import Actor
from server.models import Token


class TokenChangeList(RefusedValuesChangeList, ListedColumnsChangeList, EstimatedCountChangeList):
    """The page reads the listed columns only; the count is capped or estimated."""


STATUS_BADGES = {
    Token.Status.ACTIVE: "active",
    Token.Status.EXPIRED: "expired",
    Token.Status.REVOKED: "revoked",
}


@admin.register(Token)
class TokenAdmin(
    FastRowsMixin,
    cells.QuickActionCheckboxMixin,
    ReadOnlyAdminMixin,
    SpreadsheetSafeExportMixin,
    ExportMixin,
    admin.ModelAdmin,
):
    """Read-only token list and detail; the only change an operator makes is to revoke."""

    resource_classes = [TokenMetadataResource]
    export_formats = [CSV, JSON, XLSX]
    change_list_template = "console/tokens/token_change_list.html"
    import_export_change_list_template = "console/tokens/token_change_list.html"

    list_display = (
        "masked_token",
        "list_client",
        "list_user",
        "grant_type",
        "scope",
        "list_issued_at",
        "list_expires_at",
        "status_label",
        "list_revoked_by",
    )
    list_display_links = ("masked_token",)
    list_select_related = ("client", "user")
    # What the cells above read (admin_rows.ListedColumnsChangeList): no digest, none of the
    # client's other 37 columns, none of the user's other 10.
    list_only = (
        "access_token_prefix",
        "client",
        "client__name",
        "user",
        f"user__{get_user_model().USERNAME_FIELD}",
        "grant_type",
        "scope",
        "issued_at",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "revoked_reason",
    )
    list_filter = (
        filters.StatusFilter,
        filters.GrantTypeFilter,
        ("issued_at", admin.DateFieldListFilter),
        filters.ClientFilter,
        filters.UserFilter,
    )
    # Exact prefixes only: digests are never searchable, and a LIKE '%…%' over a million rows
    # would scan the table.
    search_fields = ("=access_token_prefix", "=refresh_token_prefix")
    search_help_text = "Exact token prefix, e.g. oat_3fQ9xY1b (the first 12 characters)."
    ordering = ("-issued_at",)
    sortable_by = ("list_issued_at", "list_expires_at")
    show_full_result_count = False
    # Facet counts are one COUNT per filter choice over the whole table: never at this size.
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 100
    list_max_show_all = 100
    actions = ["revoke_selected"]
    autocomplete_fields = ("client", "user")

    fields = (
        "masked_token",
        "masked_refresh_token",
        "client",
        "user",
        "grant_type",
        "scope",
        "token_type",
        "issued_at",
        "expires_at",
        "refresh_expires_at",
        "last_used_at",
        "status_label",
        "revoked_at",
        "revoked_by",
        "revoked_reason",
        "rotated_at",
        "family",
    )
    readonly_fields = fields

    # --- permissions: view with Django's view permission; revoke with server.revoke_tokens --------

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(views.REVOKE_PERMISSION)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    # --- columns ------------------------------------------------------------------------------

    @admin.display(description="access token")
    def masked_token(self, token: Token) -> str:
        return f"{token.access_token_prefix}…"

    # Names and labels of any length cut to their column: the list fits 1366 px (admin_cells).
    @admin.display(description="client")
    def list_client(self, token: Token) -> str:
        return cells.shortened(token.client.name)

    @admin.display(description="user")
    def list_user(self, token: Token) -> str:
        return cells.shortened(token.user.get_username() if token.user_id else "", kind="person")

    @admin.display(description="issued", ordering="issued_at")
    def list_issued_at(self, token: Token) -> str:
        return cells.moment(token.issued_at)

    @admin.display(description="expires", ordering="expires_at")
    def list_expires_at(self, token: Token) -> str:
        return cells.moment(token.expires_at)

    @admin.display(description="revoked by")
    def list_revoked_by(self, token: Token) -> str:
        return cells.shortened(token.revoked_by, kind="person") if token.revoked_by else ""

    @admin.display(description="refresh token")
    def masked_refresh_token(self, token: Token) -> str:
        return f"{token.refresh_token_prefix}…" if token.refresh_token_prefix else "—"

    @admin.display(description="status")
    def status_label(self, token: Token) -> str:
        status = token.status
        text = STATUS_BADGES[status]
        if status == Token.Status.REVOKED and token.revoked_reason:
            text = f"{text}: {token.revoked_reason}"
        return format_html('<span class="token-status token-status-{}">{}</span>', status, text)

    @admin.display(description="refresh family")
    def family(self, token: Token) -> str:
        members = selectors.token_family(token)
        if len(members) <= 1:
            return "No refresh rotation: this token has no parent and no children."
        by_pk = {member.pk: member for member in members}
        items = []
        for member in members:
            parent = by_pk.get(member.parent_id)
            items.append(
                (
                    ' class="current"' if member.pk == token.pk else "",
                    reverse("admin:server_token_change", args=[member.pk]),
                    member.access_token_prefix,
                    member.grant_type,
                    member.issued_at.strftime("%Y-%m-%d %H:%M:%S"),
                    member.status,
                    f" · rotated from {parent.access_token_prefix}…" if parent else "",
                )
            )
        rows = format_html_join(
            "",
            '<li{}><a href="{}">{}…</a> {} · issued {} · {}{}</li>',
            ((mark_safe(current), *rest) for current, *rest in items),  # noqa: S308 - a constant
        )
        return format_html('<ol class="token-family">{}</ol>', rows)

    # --- queries ------------------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs):
        return TokenChangeList

    def get_queryset(self, request: HttpRequest):
        # Digests never leave the database for the console.
        return super().get_queryset(request).defer("access_token_digest", "refresh_token_digest")

    @property
    def media(self):
        return super().media + filters.autocomplete_filter_media(self) + cells.LIST_MEDIA

    # --- bulk revocation ----------------------------------------------------------------------

    def get_urls(self):
        custom = [
            path(
                "revoke/",
                self.admin_site.admin_view(self.bulk_revoke_view),
                name="server_token_bulk_revoke",
            )
        ]
        return custom + super().get_urls()

    def bulk_revoke_view(self, request: HttpRequest):
        return views.bulk_revoke(request, self)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_revoke_permission": self.has_revoke_permission(request),
        }
        return super().changelist_view(request, extra_context)

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset):
        """Confirm with a count, then revoke with one UPDATE."""
        select_across = request.POST.get("select_across") == "1"
        if request.POST.get("confirm") == "yes":
            form = RevokeReasonForm(request.POST)
            if form.is_valid():
                criteria = (
                    {"selection": "all matching", "filters": request.GET.urlencode()}
                    if select_across
                    else {"token_ids": sorted(int(pk) for pk in request.POST.getlist("_selected_action"))}
                )
                count = services.revoke_tokens(
                    queryset,
                    actor=Actor.operator(request.user),
                    reason=form.cleaned_data["reason"],
                    criteria=criteria,
                )
                self.message_user(request, f"{count} token{'s' if count != 1 else ''} revoked.")
                return None
        else:
            form = RevokeReasonForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke selected tokens",
            "form": form,
            "count": queryset.filter(revoked_at__isnull=True).count(),
            "selected": request.POST.getlist("_selected_action"),
            "select_across": select_across,
            "action": "revoke_selected",
        }
        return TemplateResponse(request, "console/tokens/revoke_selected_confirm.html", context)


# Registered with the token admin: device authorizations (RFC 8628) are issued-credential pages too.
from oauth_console.tokens import device_admin  # noqa: E402, F401
