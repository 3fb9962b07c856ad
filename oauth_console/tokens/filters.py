"""List filters that stay cheap on a million tokens: no query to build their choices."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import QuerySet
from django.http import HttpRequest

from oauth_console.admin_lookups import parse_id
from server import policies, selectors
from server.models import Token


class FilterSelect(AutocompleteSelect):
    """Django's AutocompleteSelect, keeping the `data-placeholder` its attrs give.

    AutocompleteSelect.build_attrs writes `data-placeholder=""` over the attrs it was given (select2
    clears a single select only when it has a placeholder, and "" was Django's way to have one):
    the box stayed blank instead of saying "Any client". Any placeholder lets it clear too.
    """

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs=extra_attrs)
        placeholder = {**base_attrs, **(extra_attrs or {})}.get("data-placeholder")
        if placeholder:
            attrs["data-placeholder"] = placeholder
        return attrs


class AutocompleteListFilter(admin.SimpleListFilter):
    """Filter by one related object picked through the admin's autocomplete view.

    A dropdown of every client (Django's RelatedFieldListFilter) loads the whole related table
    on every page view; this filter renders a select2 box that searches as you type, and
    queries only the object currently selected. Subclasses set `field_name` (a foreign key of
    the listed model) and `title`; the related model's admin needs `search_fields`.
    """

    template = "console/tokens/autocomplete_filter.html"
    field_name = ""

    def __init__(self, request, params, model, model_admin):
        self.parameter_name = self.field_name
        self.model = model
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return ()

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        # Not str.isdigit: "²" is a digit to it and not to int(). A bad id raises
        # IncorrectLookupParameters, which the changelist answers with its "?e=1" page.
        return queryset.filter(**{f"{self.field_name}_id": parse_id(value, self.parameter_name)})

    def widget_html(self) -> str:
        """The select2 box, with the selected object (if any) as its one option."""
        source = self.model._meta.get_field(self.field_name)
        remote = source.remote_field.model
        field = forms.ModelChoiceField(
            queryset=remote._default_manager.all(),
            required=False,
            widget=FilterSelect(
                source,
                self.model_admin.admin_site,
                attrs={
                    "data-autocomplete-filter": self.parameter_name,
                    "data-placeholder": f"Any {self.title}",
                    "aria-label": f"Filter by {self.title}",
                    # select2 reads its width from data-width: a style attribute is blocked by the CSP.
                    "data-width": "100%",
                },
            ),
        )
        return field.widget.render(f"filter-{self.parameter_name}", self.value() or "")

    def choices(self, changelist):
        yield {
            "widget": self.widget_html(),
            "selected": bool(self.value()),
            "clear_query_string": changelist.get_query_string(remove=[self.parameter_name]),
        }


def autocomplete_filter_media(model_admin) -> forms.Media:
    """The scripts and styles an AutocompleteListFilter needs on the changelist."""
    source = Token._meta.get_field("client")
    widget_media = AutocompleteSelect(source, model_admin.admin_site).media
    return widget_media + forms.Media(js=["console/tokens/autocomplete_filter.js"])


class ClientFilter(AutocompleteListFilter):
    title = "client"
    field_name = "client"


class UserFilter(AutocompleteListFilter):
    title = "user"
    field_name = "user"


class StatusFilter(admin.SimpleListFilter):
    """Active, expired or revoked, as conditions on `revoked_at` and the indexed `expires_at`."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Token.Status.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value not in Token.Status.values:
            return queryset
        return selectors.tokens_with_status(value, queryset=queryset)


class GrantTypeFilter(admin.SimpleListFilter):
    """The grant types this server issues, from policy, not from a DISTINCT over the table."""

    title = "grant type"
    parameter_name = "grant_type"

    def lookups(self, request, model_admin):
        return [(grant, grant) for grant in policies.SUPPORTED_GRANT_TYPES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value not in policies.SUPPORTED_GRANT_TYPES:
            return queryset
        return queryset.filter(grant_type=value)
