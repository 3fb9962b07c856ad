"""Client import and export: previews, per-row errors, secrets shown once, never exported."""

import csv
import io
import json
from urllib.parse import unquote

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from server import credentials
from server.models import Client, ClientSecret

pytestmark = pytest.mark.django_db

FORMATS = {"csv": "0", "json": "1", "xlsx": "2"}
HEADERS = ["client_id", "name", "client_type", "redirect_uris", "grant_types", "scope"]


def csv_file(rows: list[list[str]], headers=HEADERS) -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return SimpleUploadedFile("clients.csv", buffer.getvalue().encode(), content_type="text/csv")


def preview(http, upload, file_format="csv"):
    return http.post(
        reverse("admin:server_client_import"),
        {"import_file": upload, "format": FORMATS[file_format], "resource": "0"},
    )


def confirm(http, preview_response):
    form = preview_response.context["confirm_form"]
    return http.post(reverse("admin:server_client_process_import"), form.initial)


def export(http, file_format="csv", query: str = "", extra: tuple[str, ...] = ()) -> bytes:
    data = {"format": FORMATS[file_format]}
    # Every column of the resource ticked, as the export page does by default.
    for name in (
        *HEADERS,
        "description",
        "status",
        "token_endpoint_auth_method",
        "client_uri",
        "logo_uri",
        "contacts",
        "jwks",
        "jwks_uri",
        "require_consent",
        "can_introspect_any_token",
        "owner",
        "source",
        "created_at",
        *extra,
    ):
        data[f"clientresource_{name}"] = "on"
    response = http.post(reverse("admin:server_client_export") + query, data)
    assert response.status_code == 200, response.content[:300]
    return response.content


GOOD_ROWS = [
    [
        "imported-web",
        "Imported web",
        "confidential",
        "https://web.example.com/cb",
        "authorization_code refresh_token",
        "profile",
    ],
    [
        "imported-spa",
        "Imported SPA",
        "public",
        "https://spa.example.com/cb",
        "authorization_code",
        "profile email",
    ],
    ["", "Imported worker", "confidential", "", "client_credentials", "read"],
]


# --- import ------------------------------------------------------------------------------------


def test_preview_changes_nothing_and_confirming_creates_clients_through_the_service(
    ops, django_assert_max_num_queries
):
    response = preview(ops, csv_file(GOOD_ROWS))

    assert response.status_code == 200
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert response.context["confirm_form"] is not None
    assert not Client.objects.exists()
    assert not ClientSecret.objects.exists()

    done = confirm(ops, response)
    assert done.status_code == 302  # POST -> redirect -> the page that shows the secrets once
    done = ops.get(done["Location"])

    assert done.status_code == 200
    assert "no-store" in done["Cache-Control"]
    clients = {client.name: client for client in Client.objects.all()}
    assert set(clients) == {"Imported web", "Imported SPA", "Imported worker"}
    assert all(client.source == Client.Source.IMPORT for client in clients.values())
    assert clients["Imported web"].client_id == "imported-web"
    assert clients["Imported worker"].client_id  # generated
    assert clients["Imported SPA"].token_endpoint_auth_method == "none"
    # Confidential clients got new secrets, shown once (table and downloadable CSV), stored as digests.
    secrets = done.context["secrets"]
    assert {client_id for client_id, _name, _secret in secrets} == {
        "imported-web",
        clients["Imported worker"].client_id,
    }
    page = done.content.decode()
    for client_id, _name, secret in secrets:
        client = Client.objects.get(client_id=client_id)
        assert client.check_client_secret(secret)
        assert secret in page
        assert not ClientSecret.objects.filter(digest=secret).exists()
    downloaded = unquote(page.split('href="data:text/csv;charset=utf-8,')[1].split('"')[0])
    rows = list(csv.DictReader(io.StringIO(downloaded)))
    assert {row["client_id"]: row["client_secret"] for row in rows} == {cid: s for cid, _n, s in secrets}
    assert not ClientSecret.objects.filter(client=clients["Imported SPA"]).exists()


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (
            ["bad-uri", "Bad", "confidential", "http://evil.example.com/cb", "authorization_code", "profile"],
            "redirect_uris",
            "plain http",
        ),
        (
            ["frag", "Frag", "confidential", "https://a.example.com/cb#x", "authorization_code", "profile"],
            "redirect_uris",
            "fragment",
        ),
        (
            ["bad-grant", "Bad grant", "confidential", "https://a.example.com/cb", "password", "profile"],
            "grant_types",
            "Unsupported grant type",
        ),
        (
            [
                "bad-scope",
                "Bad scope",
                "confidential",
                "https://a.example.com/cb",
                "authorization_code",
                "admin",
            ],
            "scope",
            "Unknown scope",
        ),
        (
            ["bad-type", "Bad type", "robot", "https://a.example.com/cb", "authorization_code", "profile"],
            "client_type",
            "Unknown client type",
        ),
        (
            ["no-name", "", "confidential", "https://a.example.com/cb", "authorization_code", "profile"],
            "name",
            "1 to 100",
        ),
    ],
)
def test_a_bad_row_is_reported_with_its_field_and_nothing_is_imported(ops, row, field, message):
    response = preview(ops, csv_file([GOOD_ROWS[0], row]))

    assert response.status_code == 200
    result = response.context["result"]
    assert result.has_validation_errors()
    invalid = result.invalid_rows
    assert [r.number for r in invalid] == [2]
    assert message in " ".join(invalid[0].error_dict[field])
    assert response.context.get("confirm_form") is None
    assert message in response.content.decode()
    assert not Client.objects.exists()


def test_duplicate_client_id_existing_or_within_the_file_is_refused(ops, make_client):
    existing, _ = make_client("Existing")
    rows = [
        [
            existing.client_id,
            "Clash",
            "confidential",
            "https://a.example.com/cb",
            "authorization_code",
            "profile",
        ],
        ["twice", "First", "confidential", "https://a.example.com/cb", "authorization_code", "profile"],
        ["twice", "Second", "confidential", "https://a.example.com/cb", "authorization_code", "profile"],
    ]
    response = preview(ops, csv_file(rows))
    result = response.context["result"]
    numbers = sorted(r.number for r in result.invalid_rows)
    assert numbers == [1, 3]
    messages = " ".join(" ".join(r.error_dict["client_id"]) for r in result.invalid_rows)
    assert "already exists" in messages
    assert response.context.get("confirm_form") is None
    assert Client.objects.count() == 1
    existing.refresh_from_db()
    assert existing.name == "Existing"


def test_unknown_owner_is_a_row_error(ops):
    rows = [
        [
            "owned",
            "Owned",
            "confidential",
            "https://a.example.com/cb",
            "authorization_code",
            "profile",
            "ghost",
        ]
    ]
    response = preview(ops, csv_file(rows, headers=[*HEADERS, "owner"]))
    result = response.context["result"]
    assert result.has_validation_errors()
    assert "No user is called" in " ".join(result.invalid_rows[0].error_dict["owner"])
    assert not Client.objects.exists()


def test_unreadable_file_is_a_form_error(ops):
    upload = SimpleUploadedFile("clients.json", b"{not json", content_type="application/json")
    response = preview(ops, upload, "json")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Client.objects.exists()


def test_import_needs_manage_permission(readonly):
    assert readonly.get(reverse("admin:server_client_import")).status_code == 403
    response = readonly.post(
        reverse("admin:server_client_import"),
        {"import_file": csv_file(GOOD_ROWS), "format": "0", "resource": "0"},
    )
    assert response.status_code == 403
    assert not Client.objects.exists()


# --- export ------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "json", "xlsx"])
def test_export_has_settings_but_never_secrets_or_digests(ops, make_client, end_user, file_format):
    client, secret = make_client("Exported app", owner=end_user)
    digest = ClientSecret.objects.get(client=client).digest
    Client.objects.filter(pk=client.pk).update(registration_access_token_digest="f" * 64)

    content = export(ops, file_format)

    if file_format == "xlsx":
        dataset = tablib.Dataset().load(io.BytesIO(content), format="xlsx")
        text, headers = json.dumps(dataset.dict, default=str), dataset.headers
    elif file_format == "json":
        text = content.decode()
        headers = list(json.loads(text)[0])
    else:
        text = content.decode()
        headers = text.splitlines()[0].split(",")
    assert not [
        h
        for h in headers
        if "secret" in h
        or "digest" in h
        or ("token" in h and "auth_method" not in h and "introspect" not in h)
    ]
    assert client.client_id in text
    assert "https://app.example.com/callback" in text
    assert "alice" in text
    assert secret not in text
    assert credentials.PREFIXES["client_secret"] not in text
    assert digest not in text
    assert "f" * 64 not in text
    assert "digest" not in text.lower()


def test_export_then_reimport_recreates_the_clients(ops, make_client):
    original, _ = make_client("Round trip", scope=["profile", "email"])
    exported = export(ops, "csv")
    Client.objects.all().delete()

    upload = SimpleUploadedFile("clients.csv", exported, content_type="text/csv")
    response = preview(ops, upload)
    assert not response.context["result"].has_validation_errors(), response.context["result"].invalid_rows
    confirm(ops, response)

    again = Client.objects.get(client_id=original.client_id)
    assert again.name == "Round trip"
    assert again.scope_list == ["profile", "email"]
    assert again.redirect_uri_list == original.redirect_uri_list
    assert again.source == Client.Source.IMPORT
    assert again.secrets.count() == 1  # a new secret, not the old one


def test_export_is_one_query_for_the_clients_not_one_per_row(
    ops, make_client, end_user, django_assert_max_num_queries
):
    for index in range(15):
        make_client(f"App {index}", owner=end_user)
    with django_assert_max_num_queries(8):
        export(ops, "csv")


# --- a number of seconds ------------------------------------------------------------------------

SECONDS_RULE = "must be a whole number of seconds between 0 and 2147483647"
NOT_SECONDS = [
    "\u00b2",  # str.isdigit() is true, int() refused it: "invalid literal for int() with base 10"
    "\u0663",  # str.isdigit() is true, int() read 3
    "1e3",
    "-5",
    "+5",
    "1.5",
    "3.0",
    "\x00",
    "6\x000",
    "2147483648",
    "9" * 5000,  # int() refuses more than 4300 digits
]


@pytest.mark.parametrize("value", NOT_SECONDS, ids=lambda v: ascii(v)[:20])
def test_a_number_of_seconds_that_is_not_one_is_a_clear_row_error_and_nothing_is_imported(ops, value):
    row = [*GOOD_ROWS[0], value]
    response = preview(ops, csv_file([GOOD_ROWS[1], row], headers=[*HEADERS, "default_max_age"]))

    assert response.status_code == 200
    result = response.context["result"]
    assert result.has_validation_errors()
    assert [r.number for r in result.invalid_rows] == [2]
    message = " ".join(result.invalid_rows[0].error_dict["default_max_age"])
    assert SECONDS_RULE in message, message
    assert "invalid literal" not in message and "Exceeds the limit" not in message
    assert response.context.get("confirm_form") is None  # nothing to confirm
    assert SECONDS_RULE in response.content.decode()
    assert not Client.objects.exists()


@pytest.mark.parametrize(
    "value", [*NOT_SECONDS, -5.0, 1.5, 1e20, float("inf"), True], ids=lambda v: ascii(v)[:20]
)
def test_the_import_itself_writes_nothing_for_such_a_row(value):
    """What the confirmation runs (import_data, not a dry run), with cells as files give them:
    text from CSV, numbers from XLSX and JSON."""
    from oauth_console.clients.resources import ClientResource

    dataset = tablib.Dataset(headers=[*HEADERS, "default_max_age"])
    dataset.append([*GOOD_ROWS[1], ""])
    dataset.append([*GOOD_ROWS[0], value])
    result = ClientResource().import_data(dataset, dry_run=False, raise_errors=False)

    assert result.has_validation_errors()
    message = " ".join(result.invalid_rows[0].error_dict["default_max_age"])
    assert SECONDS_RULE in message, message
    assert not Client.objects.exists() and not ClientSecret.objects.exists()


@pytest.mark.parametrize("value, seconds", [("600", 600), ("0", 0), (" 60 ", 60), (900.0, 900), ("", None)])
def test_a_number_of_seconds_imports(value, seconds):
    from oauth_console.clients.resources import ClientResource

    dataset = tablib.Dataset(headers=[*HEADERS, "default_max_age"])
    dataset.append([*GOOD_ROWS[0], value])
    result = ClientResource().import_data(dataset, dry_run=False, raise_errors=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert Client.objects.get().default_max_age == seconds


def test_a_row_refused_at_the_confirmation_rolls_the_whole_import_back(ops, make_client):
    """The confirmation imports the file again (not a dry run). A row that has become invalid
    since the preview (its client_id taken meanwhile) was skipped while the rows around it were
    written: now the import writes all its rows or none, and says why."""
    response = preview(ops, csv_file(GOOD_ROWS))
    assert response.context["confirm_form"] is not None
    make_client("Taken meanwhile", client_id="imported-spa")

    done = confirm(ops, response)

    assert Client.objects.count() == 1  # only the one made meanwhile
    assert not ClientSecret.objects.filter(client__source=Client.Source.IMPORT).exists()
    assert done.status_code == 302
    page = ops.get(done["Location"])
    text = page.content.decode()
    assert "Nothing was imported" in text and "already exists" in text
