"""Bad import files get plain messages, never a traceback; every row error is listed (issue 11, 16).

Also: the preview shows what will be saved, and the import is capped in bytes and rows.
"""

import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from server.models import Client
from tests.console.operator.test_import_export import GOOD_ROWS, HEADERS, csv_file, preview

pytestmark = pytest.mark.django_db

TRACEBACK_SIGNS = ("Traceback", 'File "/', ".py", "Error'", "encountered while")


def page_text(response) -> str:
    body = response.content.decode()
    return re.sub(r"\s+", " ", body)


def assert_plain(response, *expected: str) -> str:
    assert response.status_code == 200
    text = page_text(response)
    for sign in TRACEBACK_SIGNS:
        assert sign not in text, sign
    for words in expected:
        assert words in text, words
    assert response.context.get("confirm_form") is None
    assert not Client.objects.exists()
    return text


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_a_csv_without_client_id_names_the_missing_column(ops):
    response = preview(ops, csv_file([row[1:] for row in GOOD_ROWS], headers=HEADERS[1:]))
    assert_plain(response, "has no client_id column")


def test_a_semicolon_separated_csv_says_so(ops):
    text = "\n".join(";".join(row) for row in [HEADERS, *GOOD_ROWS]).encode()
    assert_plain(preview(ops, upload("clients.csv", text)), "separated by semicolons")


def test_a_file_that_is_not_utf8_says_so(ops):
    text = (
        ",".join(HEADERS) + "\nx,Caf\xe9,confidential,https://a.example.com/cb,client_credentials,profile\n"
    )
    assert_plain(preview(ops, upload("clients.csv", text.encode("latin-1"))), "not UTF-8")


def test_a_csv_uploaded_as_xlsx_says_it_is_not_a_workbook(ops):
    content = csv_file(GOOD_ROWS).read()
    assert_plain(preview(ops, upload("clients.xlsx", content), "xlsx"), "not an XLSX workbook")


def test_an_unterminated_quote_is_a_file_error_not_a_name_error(ops):
    text = (
        ",".join(HEADERS)
        + '\nq,"Unclosed name,confidential,https://a.example.com/cb,client_credentials,profile\n'
    )
    text_shown = assert_plain(preview(ops, upload("clients.csv", text.encode())), "quote")
    assert "A client name has" not in text_shown


def test_bad_json_says_where(ops):
    assert_plain(preview(ops, upload("clients.json", b'[{"name": "x",}]'), "json"), "not valid JSON")


def test_unknown_columns_are_named(ops):
    response = preview(ops, csv_file([[*GOOD_ROWS[0], "x"]], headers=[*HEADERS, "redirect_uri"]))
    assert_plain(response, "redirect_uri")


def test_an_unexpected_failure_shows_no_traceback(ops, monkeypatch):
    from oauth_console.clients.resources import ClientResource

    def explode(self, dataset, **kwargs):
        raise RuntimeError("/srv/app/secret/path.py exploded")

    monkeypatch.setattr(ClientResource, "before_import", explode)
    text = assert_plain(preview(ops, csv_file(GOOD_ROWS)), "nothing was imported")
    assert "/srv/app" not in text


def test_every_row_error_is_listed_with_row_field_and_message(ops):
    rows = [
        GOOD_ROWS[0],
        ["b1", "", "confidential", "https://a.example.com/cb", "authorization_code", "profile"],
        ["b2", "Bad grant", "confidential", "https://a.example.com/cb", "password", "profile"],
        ["b3", "Bad scope", "confidential", "https://a.example.com/cb", "authorization_code", "nope"],
    ]
    response = preview(ops, csv_file(rows))
    assert_plain(response, "3 rows have errors")
    listed = response.context["row_problems"]
    assert [(p.row, p.field) for p in listed] == [(2, "name"), (3, "grant_types"), (4, "scope")]
    body = response.content.decode()
    for problem in listed:
        assert f"<td>{problem.row}</td>" in body
        assert problem.message in body
    # No hover badge: the messages are in the page as text, not in a hidden container.
    assert "validation-error-container" not in body


def test_the_preview_shows_the_auth_method_that_will_be_saved(ops):
    response = preview(ops, csv_file(GOOD_ROWS))
    result = response.context["result"]
    headers = result.diff_headers
    column = headers.index("token_endpoint_auth_method")
    by_name = {row.diff[headers.index("name")]: row.diff[column] for row in result.valid_rows()}
    spa = next(value for name, value in by_name.items() if "Imported SPA" in name)
    web = next(value for name, value in by_name.items() if "Imported web" in name)
    assert "none" in spa and "client_secret_basic" not in spa
    assert "client_secret_basic" in web


def test_a_file_over_the_byte_cap_is_refused_before_reading(ops, settings):
    settings.CONSOLE_IMPORT_MAX_BYTES = 100
    assert_plain(preview(ops, csv_file(GOOD_ROWS)), "at most 100 bytes")


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "json"])
def test_a_file_over_the_row_cap_is_refused(ops, settings, file_format):
    settings.CONSOLE_IMPORT_MAX_ROWS = 2
    rows = [["", f"Worker {i}", "confidential", "", "client_credentials", "read"] for i in range(3)]
    if file_format == "csv":
        upload_file = csv_file(rows)
    elif file_format == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(HEADERS)
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        upload_file = upload("clients.xlsx", buffer.getvalue())
    else:
        import json

        content = json.dumps([dict(zip(HEADERS, row, strict=True)) for row in rows]).encode()
        upload_file = upload("clients.json", content)
    assert_plain(preview(ops, upload_file, file_format), "at most 2 rows")


@pytest.mark.parametrize("file_format", ["xlsx", "json"])
def test_an_xlsx_or_a_json_file_still_imports(ops, file_format):
    import json

    from tests.console.operator.test_import_export import confirm

    if file_format == "xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(HEADERS)
        for row in GOOD_ROWS:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        content = buffer.getvalue()
    else:
        content = json.dumps([dict(zip(HEADERS, row, strict=True)) for row in GOOD_ROWS]).encode()
    response = preview(ops, upload(f"clients.{file_format}", content), file_format)
    assert response.context["confirm_form"] is not None, page_text(response)[-2000:]
    assert confirm(ops, response).status_code == 302
    assert Client.objects.count() == len(GOOD_ROWS)
    assert Client.objects.get(client_id="imported-spa").token_endpoint_auth_method == "none"


def test_the_import_page_states_the_caps(ops, settings):
    settings.CONSOLE_IMPORT_MAX_ROWS = 1_000
    settings.CONSOLE_IMPORT_MAX_BYTES = 5 * 1024 * 1024
    text = page_text(ops.get(reverse("admin:server_client_import")))
    assert "at most 1,000 rows and 5 MB" in text
