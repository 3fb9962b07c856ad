"""APIs (resource servers, RFC 8707 audiences) in the admin: list, add, change, delete, and
export / import as JSON (`api_transfer`). Every write goes through `server.services` (create_api,
change_api, delete_api), so the admin, the import and any other door share one policy and one
event each. The default API (this server's own) may be renamed and given a token format only."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from oauth_console.admin_lookups import RefusedValuesAdminMixin
from oauth_console.clients import api_transfer
from server import api_policy, apis, services, token_format
from server.actors import Actor
from server.models import Api, Client
from server.policy_rules import PolicyError


def _scope_lines(scopes: dict) -> str:
    return "\n".join(f"{name}: {description}" for name, description in scopes.items())


class FilteredClients(admin.widgets.FilteredSelectMultiple):
    """The admin's two-list selector in a wrapper of its own, as Django gives a model field's: its
    SelectFilter2.js puts the selector first in the widget's parent, which without the wrapper is
    the form row, so the field's label stood after the selector at the right edge of the page."""

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        return format_html('<div class="related-widget-wrapper">{}</div>', html)


class ApiForm(forms.ModelForm):
    """The fields of an API; the scopes as `scope: description` lines."""

    scopes_text = forms.CharField(
        label="Scopes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One per line: <code>scope: what the consent page says it allows</code>.",
    )
    allowed_clients = forms.ModelMultipleChoiceField(
        queryset=Client.objects.order_by("name"),
        required=False,
        widget=FilteredClients("clients", is_stacked=False),
        help_text="The clients that may ask for tokens for this API (the `resource` parameter).",
    )
    resource_servers = forms.ModelMultipleChoiceField(
        queryset=Client.objects.exclude(client_type=Client.Type.PUBLIC).order_by("name"),
        required=False,
        widget=admin.widgets.FilteredSelectMultiple("clients", is_stacked=False),
        help_text="The confidential clients that serve this API and introspect its tokens "
        "(RFC 7662). Each of them then sees a token as active only when it was issued for an "
        "API it serves.",
    )

    class Meta:
        model = Api
        fields = ("identifier", "name", "token_format", "access_token_lifetime", "allow_any_client")
        help_texts = {
            "identifier": "An absolute https:// URI: the RFC 8707 resource clients name, and the "
            "audience (aud) of the tokens issued for this API.",
            "access_token_lifetime": "Seconds; empty: the server's default (OAUTH2_ACCESS_TOKEN_LIFETIME).",
            "allow_any_client": "Every client may ask for tokens for this API (then the list below "
            "is not needed).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        api = self.instance
        if api.pk is not None:
            self.fields["scopes_text"].initial = _scope_lines(api.scopes)
            self.fields["allowed_clients"].initial = list(api.allowed_clients.all())
            self.fields["resource_servers"].initial = list(api.resource_servers.all())
        if api.is_default:
            for name in (
                "identifier",
                "scopes_text",
                "allowed_clients",
                "resource_servers",
                "access_token_lifetime",
                "allow_any_client",
            ):
                self.fields.pop(name, None)

    def _policy(self, field: str, check, value):
        try:
            return check(value)
        except PolicyError as error:
            raise ValidationError(str(error)) from None

    def clean_identifier(self):
        return self._policy("identifier", api_policy.validate_api_identifier, self.cleaned_data["identifier"])

    def clean_name(self):
        return self._policy("name", api_policy.validate_api_name, self.cleaned_data["name"])

    def clean_access_token_lifetime(self):
        value = self.cleaned_data.get("access_token_lifetime")
        return self._policy("access_token_lifetime", api_policy.validate_access_token_lifetime, value)

    def clean_scopes_text(self):
        return self._policy("scopes", api_policy.parse_scope_lines, self.cleaned_data["scopes_text"])

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {"name": data["name"]}
        if not self.instance.is_default:  # the default API's format is OAUTH2_ACCESS_TOKEN_FORMAT
            values.update(
                token_format=data["token_format"],
                identifier=data["identifier"],
                scopes=data["scopes_text"],
                access_token_lifetime=data.get("access_token_lifetime"),
                allowed_clients=[client.client_id for client in data["allowed_clients"]],
                allow_any_client=bool(data.get("allow_any_client")),
                resource_servers=[client.client_id for client in data["resource_servers"]],
            )
        return values


class ApiImportForm(forms.Form):
    file = forms.FileField(help_text="A JSON export of APIs (a list of objects).")


@admin.register(Api)
class ApiAdmin(RefusedValuesAdminMixin, admin.ModelAdmin):
    form = ApiForm
    change_list_template = "console/apis/change_list.html"
    list_display = ("name", "shown_identifier", "scope_names", "shown_token_format", "access_token_lifetime")
    search_fields = ("name", "identifier")
    actions = ("export_json",)
    readonly_fields = ("shown_identifier", "default_scopes", "default_token_format")

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.is_default:
            fields = ["shown_identifier", "name", "default_scopes", "default_token_format"]
        else:
            fields = [
                "identifier",
                "name",
                "scopes_text",
                "token_format",
                "access_token_lifetime",
                # Without it here the form could not set "any client", and saving an API that had
                # it (from an import or the operator API) silently closed it to unlisted clients.
                "allow_any_client",
                "allowed_clients",
                "resource_servers",
            ]
        return [(None, {"fields": fields})]

    @admin.display(description="Identifier (audience)")
    def shown_identifier(self, obj: Api) -> str:
        if obj.is_default:
            # The issuer's, when configured; in development each request's host.
            issuer = apis.default_identifier(None)[: -len(apis.DEFAULT_API_PATH)]
            return (issuer or "(this server's address)") + apis.DEFAULT_API_PATH
        return obj.identifier

    @admin.display(description="Scopes")
    def scope_names(self, obj: Api) -> str:
        return " ".join(apis.scopes_of(obj))

    @admin.display(description="Scopes (OAUTH2_SCOPES)")
    def default_scopes(self, obj: Api) -> str:
        return " ".join(apis.scopes_of(obj))

    @admin.display(description="Token format")
    def shown_token_format(self, obj: Api) -> str:
        return token_format.default_api_format() if obj.is_default else obj.token_format

    @admin.display(description="Token format (OAUTH2_ACCESS_TOKEN_FORMAT)")
    def default_token_format(self, obj: Api) -> str:
        # This server's own API is configured by settings, like its scopes (server/token_format.py).
        return token_format.default_api_format()

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        actor = Actor.operator(request.user)
        try:
            if change:
                saved = services.change_api(obj, actor=actor, **form.service_values())
            else:
                saved = services.create_api(actor=actor, **form.service_values())
        except PolicyError as error:
            # A race (the identifier taken meanwhile): nothing was written.
            form.add_error(None, str(error))
            raise
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        """The service wrote the allowed clients and resource servers already."""

    def delete_model(self, request, obj):
        services.delete_api(obj, actor=Actor.operator(request.user))

    def delete_queryset(self, request, queryset):
        for api in queryset.exclude(is_default=True):
            services.delete_api(api, actor=Actor.operator(request.user))

    @admin.action(description="Export selected APIs as JSON")
    def export_json(self, request, queryset):
        response = HttpResponse(api_transfer.export_json(queryset), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="apis.json"'
        return response

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="server_api_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        form = ApiImportForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                rows = api_transfer.read_json(form.cleaned_data["file"])
                with transaction.atomic():
                    created = api_transfer.import_rows(rows, actor=Actor.operator(request.user))
            except api_transfer.ImportProblems as error:
                problems = error.problems
            else:
                messages.success(request, f"{len(created)} API(s) imported.")
                return HttpResponseRedirect(reverse("admin:server_api_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "problems": problems,
            "opts": Api._meta,
        }
        return render(request, "console/apis/import.html", context, status=400 if problems else 200)
