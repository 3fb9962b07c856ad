"""Hostile JSON at the doors that read JSON: the client import (django-import-export, in the
admin), the API import, the operator API and registration. A "\\ud800" escape is valid JSON
syntax, and json.loads makes it a lone surrogate, which no UTF-8 page can hold: the client
import's preview echoed it in a row error and failed to encode the page (a 500). Every JSON
reader refuses it as text that is not text, with a message; nothing is written.

What else was tried on the client import, on SQLite and PostgreSQL, each previewed and (when the
preview offered it) confirmed, with no 500 and no row written by a refused file: in every
column of a CSV, a NUL, formulas, 40 digits, 2**64, "-1", "²", "٣", 100 000 characters, JSON
in a cell, a bidi override; in every key of a JSON file, null, 2**70, 1.5, true, a list, an
object, nested nulls; files: empty, 2.5 kB of every byte value named .csv, "{}", "[1,2]",
"null", a string, a zip header named .xlsx, an empty .xlsx, headers only, a short row, a BOM."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from server.models import Api, Client
from tests.console.api.conftest import ALL_SCOPES, api_with
from tests.console.operator.test_import_export import GOOD_ROWS, HEADERS, preview

pytestmark = pytest.mark.django_db

LONE = "\ud800"


COLUMNS = ["name", "grant_types", "scope", "redirect_uris", "contacts", "description"]


@pytest.fixture
def ops(operator):
    http = HttpClient()
    http.force_login(operator)
    return http


@pytest.mark.parametrize("column", COLUMNS)
def test_a_lone_surrogate_in_a_client_import_is_a_file_error(ops, column):
    row = dict(zip(HEADERS, GOOD_ROWS[0], strict=True))
    row[column] = LONE if column != "contacts" else [LONE]
    upload = SimpleUploadedFile("clients.json", json.dumps([row]).encode())  # ensure_ascii: "\\ud800"
    response = preview(ops, upload, "json")
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert "lone surrogate" in page
    assert response.context.get("confirm_form") is None
    assert not Client.objects.exists()


def test_a_lone_surrogate_in_an_api_import_is_refused(ops):
    rows = [{"identifier": "https://orders.example.com/", "name": "Orders" + LONE, "scopes": {"a": "b"}}]
    upload = SimpleUploadedFile("apis.json", json.dumps(rows).encode())
    response = ops.post("/admin/server/api/import/", {"file": upload})
    assert response.status_code in (200, 400), response.status_code
    assert "lone surrogate" in response.content.decode()
    assert not Api.objects.filter(is_default=False).exists()


def test_a_lone_surrogate_in_an_operator_api_body_is_a_malformed_body():
    api = api_with(ALL_SCOPES)
    before = Client.objects.count()
    raw = json.dumps({"name": "Billing", "description": "x" + LONE, "grant_types": ["client_credentials"]})
    response = api.post("/api/v1/clients", raw=raw)
    assert response.status_code == 400, response.content[:300]
    assert "lone surrogate" in response.json()["detail"]
    assert Client.objects.count() == before


@pytest.mark.parametrize("client_id", ["a\x00b", "tab\there", "x" * 65])
def test_a_client_id_no_client_can_have_is_a_row_error_naming_it(ops, client_id):
    """A NUL in a CSV's client_id was looked up (import-export finds the row to update) and
    PostgreSQL refused it: the preview said "an unexpected problem with this row" and logged a
    traceback. It is the client_id rule's message, in the client_id column, on both databases."""
    row = dict(zip(HEADERS, GOOD_ROWS[0], strict=True))
    row["client_id"] = client_id
    upload = SimpleUploadedFile("clients.json", json.dumps([row]).encode())
    response = preview(ops, upload, "json")
    assert response.status_code == 200
    invalid = response.context["result"].invalid_rows
    assert [r.number for r in invalid] == [1], response.content.decode()[:500]
    assert "printable characters" in " ".join(invalid[0].error_dict["client_id"])
    assert response.context.get("confirm_form") is None
    assert not Client.objects.exists()
