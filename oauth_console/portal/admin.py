"""Admin for initial access tokens (RFC 7591 §3): operators issue them, developers register with them.

A token is created through `services.create_initial_access_token` and shown once, by the GET
that follows the "add" form's redirect (`shown_once`: a reload repeats nothing); afterwards the
admin shows only its prefix. Tokens are revoked,
never edited or deleted, so the record of who could register what stays.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from oauth_console import admin_confirm
from oauth_console.admin_lookups import RefusedValuesAdminMixin
from oauth_console.clients import shown_once
from oauth_console.portal.forms import GRANT_TYPE_LABELS
from server import policies, services
from server.actors import Actor
from server.models import InitialAccessToken


class InitialAccessTokenForm(forms.ModelForm):
    """What an operator decides when issuing a token: how long, how many, which scopes and grants."""

    allowed_scope = forms.MultipleChoiceField(
        label="Scopes it may grant", widget=forms.CheckboxSelectMultiple, required=False
    )
    allowed_grant_types = forms.MultipleChoiceField(
        label="Grant types it may grant",
        widget=forms.CheckboxSelectMultiple,
        initial=["authorization_code", "refresh_token"],
    )

    class Meta:
        model = InitialAccessToken
        fields = ["description", "expires_at", "max_registrations"]
        help_texts = {
            "expires_at": "Leave empty for no expiry (not recommended).",
            "max_registrations": "How many clients can be registered with this token.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Absent on the read-only view of an existing token.
        if "allowed_scope" in self.fields:
            self.fields["allowed_scope"].choices = [(s, s) for s in policies.configured_scopes()]
        if "allowed_grant_types" in self.fields:
            self.fields["allowed_grant_types"].choices = [
                (g, GRANT_TYPE_LABELS.get(g, g)) for g in policies.SUPPORTED_GRANT_TYPES
            ]

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("max_registrations") is not None and cleaned["max_registrations"] < 1:
            self.add_error("max_registrations", "Allow at least one registration.")
        return cleaned


@admin.register(InitialAccessToken)
class InitialAccessTokenAdmin(RefusedValuesAdminMixin, admin.ModelAdmin):
    form = InitialAccessTokenForm
    list_display = (
        "prefix_shown",
        "description",
        "created_at",
        "expires_at",
        "registrations_used",
        "allowed_scope",
        "allowed_grant_types",
        "revoked_at",
        "created_by",
    )
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("prefix", "description")
    readonly_fields = (
        "prefix_shown",
        "description",
        "created_by",
        "created_at",
        "expires_at",
        "registrations_used",
        "allowed_scope",
        "allowed_grant_types",
        "revoked_at",
    )
    actions = ["revoke"]

    @admin.display(description="Token", ordering="prefix")
    def prefix_shown(self, obj: InitialAccessToken) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="Registrations used")
    def registrations_used(self, obj: InitialAccessToken) -> str:
        return f"{obj.registrations} / {obj.max_registrations}"

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["description", "expires_at", "max_registrations", "allowed_scope", "allowed_grant_types"]
        return self.readonly_fields

    def has_change_permission(self, request, obj=None) -> bool:
        # Viewing is allowed; the only change is revoking (an action).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: InitialAccessToken, form, change: bool) -> None:
        # The form accepts only what the service accepts (choices, at least one registration).
        data = form.cleaned_data
        row, plain = services.create_initial_access_token(
            actor=Actor.operator(request.user),
            created_by=request.user,
            description=data.get("description", ""),
            expires_at=data.get("expires_at"),
            max_registrations=data["max_registrations"],
            allowed_scope=data.get("allowed_scope", []),
            allowed_grant_types=data.get("allowed_grant_types", []),
        )
        # The admin goes on with `obj` (log entry, redirect): make it the stored row.
        obj.__dict__.update({k: v for k, v in row.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False
        request._initial_access_token_plain = plain

    def response_add(
        self, request: HttpRequest, obj: InitialAccessToken, post_url_continue=None
    ) -> HttpResponse:
        plain = getattr(request, "_initial_access_token_plain", None)
        if plain is None:
            return super().response_add(request, obj, post_url_continue)
        shown_once.keep(request, _slot(obj.pk), plain)
        return HttpResponseRedirect(reverse("admin:server_initialaccesstoken_created", args=[obj.pk]))

    def get_urls(self):
        created = path(
            "<int:object_id>/created/",
            self.admin_site.admin_view(self.created_view),
            name="server_initialaccesstoken_created",
        )
        return [created, *super().get_urls()]

    def created_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The new token, on the first GET after the add form; then "already shown"."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        obj = get_object_or_404(InitialAccessToken, pk=object_id)
        entry = shown_once.take(request, _slot(obj.pk))
        plain = entry["secret"] if entry else None
        response = TemplateResponse(
            request,
            "admin/portal/initialaccesstoken/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Initial access token created",
                "token": obj,
                "plain": plain,
            },
        )
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response

    @admin.action(description="Revoke the selected tokens (no more registrations)…", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset):
        if not admin_confirm.confirmed(request):  # it cannot be undone: ask first
            return admin_confirm.ask(
                self,
                request,
                action="revoke",
                count=queryset.filter(revoked_at__isnull=True).count(),
                noun="initial access token",
                nouns="initial access tokens",
                verb="Revoke",
                done="revoked",
                consequence="They register no more clients; the clients registered with them keep working.",
            )
        count = services.revoke_initial_access_tokens(queryset, actor=Actor.operator(request.user))
        self.message_user(request, f"{count} token{'s' if count != 1 else ''} revoked.", messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("server.add_initialaccesstoken")


def _slot(pk: int) -> str:
    return f"initial-access-token:{pk}"
