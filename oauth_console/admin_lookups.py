"""What the console's admin lists accept in their query strings before a filter reads them.

A list's filters turn the query string into SQL parameters. Django checks the lookup's name
(`lookup_allowed`) but not its value, and a value the database cannot take fails only when
the page's query runs, past the admin's "?e=1" handling: a 500. PostgreSQL refuses a NUL in
any text parameter (`?event_type=%00` on the audit log, `?status=%00` on the client list), and
an id that is not an integer of the database's range (`?client=²`: "²".isdigit() is true, int()
refuses it; int() refuses 5000 digits too) fails the same way. An id is read by the one rule for
numbers others write (`server.oauth2.digits`: ASCII digits only). Refused here, such a list
answers as for any other bad filter: the admin's "?e=1" page.

The console's own pages under the admin (a client's secrets, a webhook's detail, a key's
revocation) take a row's id from the path as a string: `object_or_404` gives them Django's
answer to an id that names no row (a 404) for one that is not an id at all ("x", "²", a NUL,
past the bigint range), where `get_object_or_404(pk=...)` raised ValueError or OverflowError: a 500.
"""

from functools import cache
from typing import TypeVar

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import IntegerField, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse

from server.models import MAX_ROW_ID
from server.oauth2.digits import whole_number

M = TypeVar("M", bound=Model)


def parse_id(value: str, name: str) -> int:
    """`value` as a row id: ASCII digits within a bigint, else IncorrectLookupParameters."""
    pk = whole_number(value, maximum=MAX_ROW_ID)
    if pk is None:
        raise IncorrectLookupParameters(f"{name} must be an id.")
    return pk


def object_or_404(model: type[M] | QuerySet[M], object_id, **ids) -> M:
    """The row whose pk is `object_id`, each of `ids` (field: id from the path) an id too; a 404
    for an id that is not one (`parse_id`'s rule) or names no row."""
    try:
        pk = parse_id(str(object_id), "the id")
        parsed = {name: parse_id(str(value), name) for name, value in ids.items()}
    except IncorrectLookupParameters:
        raise Http404("No such row: the id in the address is not an id.") from None
    return get_object_or_404(model, pk=pk, **parsed)


class RefusedValuesChangeList(ChangeList):
    """A ChangeList whose filters never see a value no column can hold (a NUL)."""

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        for name, values in lookup_params.items():
            for value in values if isinstance(values, list) else [values]:
                if "\x00" in name or "\x00" in value:
                    raise IncorrectLookupParameters(f"{name!r}: a NUL character")
                if _past_the_range(self.model, name, value):
                    raise IncorrectLookupParameters(f"{name!r}: past the range of an id")
        return lookup_params


def _integer_column(model, name: str) -> bool:
    """True when the filter `name` (a field path, perhaps ending in a lookup) compares an integer
    column: an integer field, or a relation, whose key is one."""
    parts = name.split("__")
    for end in range(len(parts), 0, -1):
        try:
            field = get_fields_from_path(model, "__".join(parts[:end]))[-1]
        except (FieldDoesNotExist, NotRelationField):
            continue
        if field.is_relation:
            field = getattr(field, "target_field", None) or field.related_model._meta.pk
        return isinstance(field, IntegerField)
    return False


def _past_the_range(model, name: str, value: str) -> bool:
    """True when `value` (each of a list's, for __in) is an integer no bigint column holds, for a
    filter on an integer column. Django refuses such a value for an integer field's own lookups
    but not through a relation (?user=<21 digits> on the groups list): the database did, when
    the page's query ran (OverflowError on SQLite), a 500."""
    numbers = []
    for part in value.split(",") if name.endswith("__in") else [value]:
        try:
            numbers.append(int(part))
        except ValueError:
            continue
    return any(not -MAX_ROW_ID - 1 <= n <= MAX_ROW_ID for n in numbers) and _integer_column(model, name)


@cache
def _refusing(changelist: type[ChangeList]) -> type[ChangeList]:
    if issubclass(changelist, RefusedValuesChangeList):
        return changelist
    return type(changelist.__name__, (RefusedValuesChangeList, changelist), {"__module__": __name__})


class RefusedValuesAdminMixin:
    """Mix into a ModelAdmin (before `admin.ModelAdmin`): its list refuses a NUL in a filter's
    value, whichever ChangeList it uses (tests/security/test_console_list_queries.py walks every
    registered model admin)."""

    def get_changelist(self, request, **kwargs):
        return _refusing(super().get_changelist(request, **kwargs))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # A choice of rows (a client's owner, a group's permissions, a user's groups) looks the
        # POSTed ids up: Django refuses "x" but not an integer past a bigint, which fails in the
        # database (SQLite: OverflowError, a 500). Such an id is an invalid choice instead.
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(formfield, ModelChoiceField) and not isinstance(formfield, BoundedIdChoice):
            formfield.__class__ = _bounded(type(formfield))
        return formfield

    def export_action(self, request):
        # django-import-export's export builds the list's ChangeList from the query string
        # (the list's filters, carried by its Export link) and lets IncorrectLookupParameters
        # through: any parameter the list has no filter for (?page=1), or a value it refuses,
        # was a 500. The list answers such a filter with its "?e=1" page; the export says so.
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            opts = self.model._meta
            messages.error(
                request,
                "Nothing was exported: the export's filters are not ones this list has, or hold a "
                "value no column can. Filter the list, then export from it.",
            )
            changelist = f"admin:{opts.app_label}_{opts.model_name}_changelist"
            return HttpResponseRedirect(reverse(changelist, current_app=self.admin_site.name))


class BoundedIdChoice:
    """Mixed into a ModelChoiceField or ModelMultipleChoiceField: an id past the bigint range,
    for rows keyed by an integer, is an invalid choice (before any query)."""

    def clean(self, value):
        values = value if isinstance(value, list | tuple) else [value]
        key = self.to_field_name or (self.queryset.model._meta.pk.name if self.queryset is not None else "pk")
        if self.queryset is not None and _integer_column(self.queryset.model, key):
            for item in values:
                try:
                    number = int(str(item))
                except ValueError:
                    continue
                if not -MAX_ROW_ID - 1 <= number <= MAX_ROW_ID:
                    raise ValidationError(
                        "Select a valid choice. That choice is not one of the available choices.",
                        code="invalid_choice",
                    )
        return super().clean(value)


@cache
def _bounded(field_class: type) -> type:
    return type(field_class.__name__, (BoundedIdChoice, field_class), {"__module__": __name__})


def refuse_everywhere(site) -> None:
    """Every list of `site` refuses a NUL in a filter's value: the admins this project registers
    mix `RefusedValuesAdminMixin` in (or use a `RefusedValuesChangeList`); the others (Django's
    groups, the task queue's results) are registered again here with it mixed in. Call once the
    admin modules are imported (an AppConfig.ready after django.contrib.admin's)."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, RefusedValuesAdminMixin):
            continue
        refusing = type(
            type(model_admin).__name__,
            (RefusedValuesAdminMixin, type(model_admin)),
            {"__module__": type(model_admin).__module__},
        )
        site.unregister(model)
        site.register(model, refusing)
