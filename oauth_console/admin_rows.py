"""The rows of the console's big admin lists (tokens, audit log), rendered once per page's
columns instead of once per cell: the same markup as Django's, at a fraction of its CPU.

Django's `items_for_result` works out every cell of a change list from scratch: which field or
callable the column names, its empty-value text, its CSS classes, and for the link column the
change page's URL (`reverse`) and the list's filters kept in it (`add_preserved_filters`, which
resolves that URL again). For the token list's 100 rows x 10 columns that was about half of
the view's CPU time, a `resolve` per row more on a filtered list. Here each column is worked
out once per page (`compile_columns`) and each row is one string built from them.

Only what these lists use is compiled: model fields and the model admin's display methods, a
plain (not popup, not editable) list with integer primary keys. Anything else (a popup, a
`list_editable` formset, a related-field lookup `a__b`, a model property) takes Django's own
code, so an admin that opts in (`FastRowsMixin`) never renders differently: the tests compare
both renderings cell for cell.
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time

from django.contrib.admin.templatetags.admin_list import (
    ResultList,
    items_for_result,
    result_headers,
    result_list,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import _get_non_gfk_field, display_for_field, display_for_value
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe

# Stands for the primary key in the change page's URL, reversed and filtered once per page.
PK_PLACEHOLDER = "0console0pk0"


class FastRowsMixin:
    """Mix into a ModelAdmin: its change list's rows are rendered by `admin_rows` (the console's
    admin/change_list.html calls the `console_result_list` tag, which looks for this flag).

    `list_only`, when set, names the columns the list's cells read (`QuerySet.only`, related
    ones as `client__name`; a ChangeList with `ListedColumnsChangeList` applies it): a token row
    came with every column of its client (38, JSON among them) and of its user (11), and
    turning 100 of them into objects cost more CPU than rendering the cells. A cell that reads a
    column left out costs a query per row: the lists' query counts are pinned in the tests."""

    fast_list_rows = True
    list_only: tuple[str, ...] = ()


class ListedColumnsChangeList(ChangeList):
    """A ChangeList whose page of rows reads only the model admin's `list_only` columns. Only
    the page: the actions and the export take `get_queryset()`, every column."""

    def get_results(self, request) -> None:
        only = getattr(self.model_admin, "list_only", ())
        if only:
            self.queryset = self.queryset.only(*only)
        super().get_results(request)


@dataclass(frozen=True)
class Column:
    """One column of a page: how to get a row's value, and the markup around it."""

    value: Callable[[object], object]  # the row -> the raw value
    display: Callable[[object], str]  # the raw value -> the cell's text or safe markup
    tag: str  # "th" or "td"
    classes: str  # the CSS classes
    date_nowrap: bool  # a callable's date or time value adds "nowrap" (Django does, per cell)
    empty: str  # what an ObjectDoesNotExist shows (the model admin's empty value)
    link: tuple[str, str] | None  # the escaped change URL around the primary key


class Unsupported(Exception):
    """A column or a list these rows do not render: Django's code renders the whole list."""


def _method_display(empty: str, boolean: bool) -> Callable[[object], str]:
    def display(value):
        # What items_for_result does with a callable's value, the common case first.
        if isinstance(value, str) and not boolean:
            return value if value.strip() else display_for_value("", empty)
        return display_for_value(value, empty, boolean)

    return display


def _field_display(field, empty: str, link: bool) -> Callable[[object], str]:
    choices = getattr(field, "flatchoices", None)
    if choices:
        try:
            labels = dict(choices)
        except TypeError:  # list-like choices: Django's display_for_field handles them
            labels = None
        if labels is not None:
            return lambda value: labels.get(
                "" if isinstance(value, str) and not value.strip() else value, empty
            )

    def display(value):
        if isinstance(value, str) and value.strip() == "":
            value = ""
        return display_for_field(value, field, empty, avoid_link=link)

    return display


def _change_url(cl) -> tuple[str, str]:
    """The change page's URL with the list's filters, escaped, split around the primary key."""
    url = reverse(
        f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
        args=(PK_PLACEHOLDER,),
        current_app=cl.model_admin.admin_site.name,
    )
    url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
    before, found, after = escape(url).partition(PK_PLACEHOLDER)
    if not found or PK_PLACEHOLDER in after:
        raise Unsupported("the primary key does not appear once in the change URL")
    return before, after


def _column(cl, index: int, name, is_link: bool, is_first_link: bool) -> Column:
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    if isinstance(name, str) and LOOKUP_SEP in name:
        raise Unsupported(f"{name}: a lookup")
    try:
        field = _get_non_gfk_field(cl.lookup_opts, name)
    except FieldDoesNotExist:
        field = None
    except Exception as error:  # FieldIsAForeignKeyColumnName: Django reads the attribute
        raise Unsupported(str(name)) from error
    if field is not None:
        if field.is_relation or field.auto_created:
            raise Unsupported(f"{name}: a relation or the primary key")
        value = operator.attrgetter(name)
        display = _field_display(field, empty, is_link)
        classes = f"field-{name}" + (
            " nowrap" if isinstance(field, models.DateField | models.TimeField) else ""
        )
        date_nowrap = False
    elif callable(name) or (hasattr(model_admin, name) and name != "__str__"):
        value = name if callable(name) else getattr(model_admin, name)
        display = _method_display(
            getattr(value, "empty_value_display", empty), getattr(value, "boolean", False)
        )
        if name == "action_checkbox":
            classes = "action-checkbox"
        elif callable(name):
            classes = f"field-lambda{index}" if name.__name__ == "<lambda>" else f"field-{name.__name__}"
        else:
            classes = f"field-{name}"
        date_nowrap = True
    else:
        raise Unsupported(f"{name}: a model attribute")
    link = None
    if is_link:
        try:
            link = _change_url(cl)
        except NoReverseMatch:
            link = None
    tag = "th" if is_first_link else "td"
    return Column(value, display, tag, classes, date_nowrap, empty, link)


def compile_columns(cl) -> list[Column]:
    """The page's columns, worked out as Django's items_for_result does for every cell."""
    if cl.formset or cl.is_popup or cl.to_field:
        raise Unsupported("a popup, editable or to_field list")
    if not isinstance(cl.lookup_opts.pk, models.AutoField | models.BigAutoField | models.IntegerField):
        raise Unsupported("the primary key is not an integer")
    columns = []
    first = True
    for index, name in enumerate(cl.list_display):
        if cl.list_display_links is None:
            is_link = False
        elif first and not cl.list_display_links:
            is_link = True
        else:
            is_link = name in cl.list_display_links
        columns.append(_column(cl, index, name, is_link, is_link and first))
        if is_link:
            first = False
    return columns


def row_html(columns: list[Column], obj) -> str:
    """One row's cells, as items_for_result renders them."""
    cells = []
    for column in columns:
        classes = column.classes
        try:
            value = column.value(obj)
        except ObjectDoesNotExist:
            text = column.empty
        else:
            text = column.display(value)
            if column.date_nowrap and isinstance(value, date | time):
                classes += " nowrap"
        text = conditional_escape(text)
        if column.link is not None:
            text = f'<a href="{column.link[0]}{obj.pk}{column.link[1]}">{text}</a>'
        cells.append(f'<{column.tag} class="{classes}">{text}</{column.tag}>')
    return mark_safe("".join(cells))  # noqa: S308 - every value in it is escaped above


def rows(cl) -> list[ResultList]:
    """The page's rows as change_list_results.html iterates them: one safe string a row."""
    try:
        columns = compile_columns(cl)
    except Unsupported:
        return [ResultList(None, items_for_result(cl, obj, None)) for obj in cl.result_list]
    return [ResultList(None, [row_html(columns, obj)]) for obj in cl.result_list]


def fast_result_list(cl) -> dict:
    """Django's result_list context, its rows from `rows` when the model admin opts in."""
    if not getattr(cl.model_admin, "fast_list_rows", False) or cl.formset:
        return result_list(cl)
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": rows(cl),
    }
