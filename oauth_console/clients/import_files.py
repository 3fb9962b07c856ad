"""Reading an uploaded clients file: a plain message for every kind of bad file, and size caps.

django-import-export reads a file with tablib and reports what goes wrong as the exception's
class name ("'BadZipFile' encountered…") or, past the reading step, as a traceback. Here every
format is read strictly by our own code, so a bad file is refused before any row is looked at,
with a message that says what is wrong and what to do: not UTF-8, not a workbook, not JSON,
separated by semicolons, a quote left open, a column missing or unknown, too big.

The caps (settings CONSOLE_IMPORT_MAX_BYTES and CONSOLE_IMPORT_MAX_ROWS) keep an import's dry
run and its save well inside the web server's request timeout: every row goes through
`services.create_client` twice (preview, then confirm).
"""

import csv
import io
import json
import logging
import zipfile

import tablib
from django import forms
from django.conf import settings
from import_export.formats.base_formats import CSV, JSON, XLSX
from import_export.forms import ImportForm

from oauth_console.clients.resources import IMPORT_COLUMNS
from server.oauth2.bodies import LONE_SURROGATE, has_lone_surrogates

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 1_000
# Columns an export writes that an import ignores (the server sets them).
EXPORT_ONLY_COLUMNS = ("source", "created_at")
REQUIRED_COLUMNS = {
    "client_id": "leave its cells empty to have ids generated",
    "name": "every client needs a name",
}


class ImportFileError(ValueError):
    """A file the import refuses as a whole; the message is for the operator, as is."""


def max_bytes() -> int:
    return getattr(settings, "CONSOLE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_rows() -> int:
    return getattr(settings, "CONSOLE_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        f"The file has more than {max_rows():,} clients: an import takes at most {max_rows():,} rows "
        "at a time. Split it into smaller files."
    )


def _dataset(headers: list, rows: list[list]) -> tablib.Dataset:
    """The rows under their headers, after checking the headers name the columns we know."""
    names = ["" if header is None else str(header).strip() for header in headers]
    # Spreadsheets often carry empty trailing columns: drop those without a name or a value.
    while names and not names[-1] and all(len(row) < len(names) or row[-1] in (None, "") for row in rows):
        names.pop()
        rows = [row[: len(names)] for row in rows]
    if len(names) == 1 and any(mark in names[0] for mark in (";", "\t", "|")):
        separator = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}[
            next(mark for mark in (";", "\t", "|") if mark in names[0])
        ]
        raise ImportFileError(
            f"The file's columns are separated by {separator}; the import reads comma-separated "
            "CSV. Save it as 'CSV UTF-8 (comma delimited)' and upload it again."
        )
    known = (*IMPORT_COLUMNS, *EXPORT_ONLY_COLUMNS)
    missing = [f"{name} ({why})" for name, why in REQUIRED_COLUMNS.items() if name not in names]
    unknown = [name or f"(column {i} has no name)" for i, name in enumerate(names, 1) if name not in known]
    duplicated = sorted({name for name in names if name and names.count(name) > 1})
    problems = []
    if missing:
        problems.append(
            f"The file has no {' and no '.join(name.split(' ')[0] for name in missing)} column: "
            + "; ".join(missing)
            + "."
        )
    if unknown:
        problems.append(f"Unknown columns: {', '.join(unknown)}.")
    if duplicated:
        problems.append(f"Columns named twice: {', '.join(duplicated)}.")
    if problems:
        raise ImportFileError(
            " ".join(problems)
            + f" The first row must name the columns; the import knows: {', '.join(known)}."
        )
    dataset = tablib.Dataset(headers=names)
    for number, row in enumerate(rows, 1):
        if len(row) > len(names) and any(value not in (None, "") for value in row[len(names) :]):
            raise ImportFileError(
                f"Row {number} has {len(row)} values but the header names {len(names)} columns: "
                "check for a comma inside a value that is not in double quotes."
            )
        dataset.append((list(row) + [None] * len(names))[: len(names)])
    return dataset


def _text(in_stream) -> str:
    if isinstance(in_stream, bytes):
        in_stream = in_stream.decode("utf-8-sig")  # UnicodeDecodeError: see read_error_message
    return in_stream.removeprefix("\ufeff")


class ClientCSV(CSV):
    """Comma-separated values, read strictly: an unclosed quote is an error, not a long name."""

    def create_dataset(self, in_stream, **kwargs) -> tablib.Dataset:
        reader = csv.reader(io.StringIO(_text(in_stream), newline=""), strict=True)
        rows = []
        try:
            for row in reader:
                if not row:
                    continue
                rows.append(row)
                if len(rows) > max_rows() + 1:
                    raise _too_many_rows()
        except csv.Error as error:
            hint = (
                "a double quote opens a value that is never closed"
                if "unexpected end of data" in str(error) or "EOF" in str(error)
                else "a double quote is misplaced"
            )
            raise ImportFileError(
                f"The CSV cannot be read near line {reader.line_num}: {hint}. A value with a comma "
                'or a quote in it goes in double quotes, with inner quotes doubled ("").'
            ) from None
        if not rows:
            raise ImportFileError("The file is empty: its first row must name the columns.")
        return _dataset(rows[0], rows[1:])


class ClientJSON(JSON):
    """A JSON list of objects, one per client, as the export writes it."""

    def create_dataset(self, in_stream, **kwargs) -> tablib.Dataset:
        try:
            data = json.loads(_text(in_stream))
        except json.JSONDecodeError as error:
            raise ImportFileError(
                f"The file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
            ) from None
        except RecursionError:
            raise ImportFileError(
                "The file is not a JSON list of clients: it is nested too deeply."
            ) from None
        if has_lone_surrogates(data):
            raise ImportFileError(f"The file is not valid JSON text. {LONE_SURROGATE}")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise ImportFileError(
                'The file is not a JSON list of clients: write [{"client_id": …, "name": …}, …], '
                "as the export does."
            )
        if len(data) > max_rows():
            raise _too_many_rows()
        if not data:
            raise ImportFileError("The file has no clients in it.")
        headers = list(dict.fromkeys(key for item in data for key in item))
        return _dataset(headers, [[item.get(key) for key in headers] for item in data])


class ClientXLSX(XLSX):
    """The first sheet of an Excel workbook; its first row names the columns."""

    def create_dataset(self, in_stream, **kwargs) -> tablib.Dataset:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
            raise ImportFileError(
                "The file is not an XLSX workbook (Excel 2007 or later). Choose the format that "
                "matches the file, or save it from Excel as .xlsx."
            ) from None
        try:
            rows = []
            for row in book.active.iter_rows(values_only=True):
                if all(value in (None, "") for value in row):
                    continue
                rows.append(list(row))
                if len(rows) > max_rows() + 1:
                    raise _too_many_rows()
        finally:
            book.close()
        if not rows:
            raise ImportFileError("The workbook's first sheet is empty: its first row must name the columns.")
        return _dataset(rows[0], rows[1:])


IMPORT_FORMATS = [ClientCSV, ClientJSON, ClientXLSX]


def read_error_message(error: Exception) -> str:
    """What to tell the operator when a file cannot be read, whatever the reason."""
    if isinstance(error, ImportFileError):
        return str(error)
    if isinstance(error, UnicodeDecodeError):
        return (
            f"The file is not UTF-8 text (byte {error.start + 1} cannot be read). Save it as "
            "'CSV UTF-8' (or JSON in UTF-8) and upload it again."
        )
    logger.warning("client import: unreadable file", exc_info=error)
    return "The file cannot be read in the format chosen. Check that the format matches the file."


class ClientImportForm(ImportForm):
    """The admin's import form, refusing a file over the byte cap before anything reads it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["import_file"].help_text = (
            f"CSV (comma-separated, UTF-8), JSON or XLSX; at most {max_rows():,} rows and "
            f"{max_bytes() / (1024 * 1024):g} MB. The first row names the columns."
        )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > max_bytes():
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes: an import takes files of at most {max_bytes():,} "
                "bytes. Split it into smaller files."
            )
        return upload
