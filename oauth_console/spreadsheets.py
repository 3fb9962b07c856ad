"""Files a spreadsheet opens: every cell is shown as text, never evaluated (formula injection).

Exported values come from people outside the operator's control: client names and descriptions
written by developers, user names, user agents, revocation reasons. A spreadsheet runs a cell
that starts with "=", "+", "-" or "@" (and, in some programs, a tab or carriage return before
one) as a formula, which can leak other cells to a URL or start a program. One rule for every
export: such a cell gets a leading apostrophe (OWASP's advice), in CSV and XLSX alike. JSON is
data for programs, not a spreadsheet, so it keeps every value exactly (and re-imports unchanged).
"""

import re

import tablib
from django.core.exceptions import PermissionDenied
from import_export.formats.base_formats import JSON

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Control characters a spreadsheet file cannot hold (openpyxl refuses them).
ILLEGAL_SPREADSHEET_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
# Formats written for programs rather than spreadsheets; every other format is made safe.
VERBATIM_FORMATS = (JSON,)


def spreadsheet_safe(value: object) -> object:
    """A cell value that a spreadsheet shows as text, never evaluates (non-strings unchanged)."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_SPREADSHEET_CHARACTERS.sub("\N{REPLACEMENT CHARACTER}", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def from_spreadsheet(value: object) -> object:
    """The value `spreadsheet_safe` was given, for a cell it made: an export imports unchanged."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def spreadsheet_safe_dataset(dataset: tablib.Dataset) -> tablib.Dataset:
    """A copy of `dataset` with every cell made spreadsheet-safe (the headers are ours)."""
    safe = tablib.Dataset(headers=dataset.headers, title=dataset.title)
    for row in dataset:
        safe.append([spreadsheet_safe(cell) for cell in row])
    return safe


class SpreadsheetSafeExportMixin:
    """For a django-import-export ModelAdmin: its CSV and XLSX exports hold no live formula.

    Put it before the library's ExportMixin (or ImportExportMixin, ExportActionMixin). It
    replaces `get_export_data`, the one step where a resource's dataset becomes a file, so
    every resource the admin offers and every format except JSON go through `spreadsheet_safe`.
    """

    def export_native_types(self, file_format) -> bool:
        """Whether cells keep Python types (dates, numbers); the library does so for binary formats."""
        return file_format.is_binary()

    def get_export_data(self, file_format, request, queryset, **kwargs):
        if not self.has_export_permission(request):
            raise PermissionDenied
        data = self.get_data_for_export(
            request, queryset, force_native_type=self.export_native_types(file_format), **kwargs
        )
        if not isinstance(file_format, VERBATIM_FORMATS):
            data = spreadsheet_safe_dataset(data)
        export_data = file_format.export_data(data)
        encoding = kwargs.get("encoding")
        if not file_format.is_binary() and encoding:
            export_data = export_data.encode(encoding)
        return export_data
