"""The outputs a stored client is seen through: each takes (world, passage, field name) and asserts
that what it shows is the stored value, inert. One row in OUTPUTS per output."""

import html
import json
import re
import secrets
from collections.abc import Callable
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import escape

from oauth_console.audit.export import COLUMNS as AUDIT_COLUMNS
from oauth_console.audit.models import AuditEvent, EventType
from oauth_console.spreadsheets import from_spreadsheet
from server import credentials, services
from server.models import Client

from . import oracles
from .doors import Passage, World
from .values import FIELDS

CLIENT_EVENTS = (EventType.CLIENT_CREATED, EventType.CLIENT_CHANGED)
_AUDIT_DETAIL = re.compile(r'<pre class="audit-detail">(.*?)</pre>', re.S)


def _showable(world: World, client: Client) -> Client:
    """The client as the pages show it: active, owned by the world's developer."""
    Client.objects.filter(pk=client.pk).update(owner=world.developer, status=Client.Status.ACTIVE)
    return Client.objects.get(pk=client.pk)


# --- JSON: what registration answers ---------------------------------------------------------------


def assert_answer_is_the_stored_client(response, client: Client, where: str) -> None:
    """RFC 7591 §3.2.1 / RFC 7592 §3: the answer carries the client's metadata as registered;
    each value exactly as stored (nothing altered, dropped or re-encoded), and the answer is JSON."""
    body = oracles.json_answer(response, where)
    assert body["client_id"] == client.client_id, where
    for name, row in FIELDS.items():
        if row.json_key is None:
            continue
        stored = row.read(client)
        answered = body.get(row.json_key, type(stored)())
        assert answered == stored, f"{where}: {row.json_key} answered {answered!r}, stored {name}={stored!r}"


def registration_answers(world: World, passage: Passage, name: str) -> None:
    """The door's own answer (RFC 7591 POST, RFC 7592 PUT), for the doors that give one."""
    client = Client.objects.get(pk=passage.client.pk)
    for label, response in passage.answers.items():
        assert response.status_code in (200, 201), (label, response.status_code)
        assert_answer_is_the_stored_client(response, client, label)


def configuration_read(world: World, passage: Passage, name: str) -> None:
    """RFC 7592 GET of the client, whichever door stored it (a registration access token is given to
    clients that have none: an admin or a migration may have written what a 7592 client reads)."""
    token = secrets.token_urlsafe(32)
    Client.objects.filter(pk=passage.client.pk).update(
        registration_access_token_digest=credentials.digest(token)
    )
    client = Client.objects.get(pk=passage.client.pk)
    response = world.anonymous.get(
        reverse("oauth-client-configuration", args=[client.client_id]),
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, (response.status_code, response.content[:300])
    assert_answer_is_the_stored_client(response, client, "RFC 7592 GET answer")


# --- HTML: the pages ---------------------------------------------------------------------------------


def pages(world: World, passage: Passage, name: str) -> None:
    """Every page that lists or details the client, as the one who may see it sees it."""
    client = _showable(world, passage.client)
    services.record_consent(user=world.end_user, client=client, scope="profile")
    shown = {
        "/account/apps/": world.user.get("/account/apps/"),
        "portal detail": world.dev.get(reverse("portal:client_detail", args=[client.client_id])),
        "portal home": world.dev.get("/developers/"),
        "admin change": world.ops.get(reverse("admin:server_client_change", args=[client.pk])),
        "admin list": world.ops.get(reverse("admin:server_client_changelist")),
    }
    for where, response in shown.items():
        assert response.status_code == 200, (where, response.status_code)
        oracles.assert_page_inert(response.content.decode(), where)


def consent_page(world: World, passage: Passage, name: str) -> None:
    """/oauth/authorize for a user who never consented: the page shows the client's name, site and
    description, escaped. A stored redirect URI the policy refuses is refused here too (400), never
    redirected to."""
    client = _showable(world, passage.client)
    redirect_uri = client.redirect_uri_list[0]
    query = {"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri}
    query.update(scope="profile", state="s", code_challenge="x" * 43, code_challenge_method="S256")
    url = "/oauth/authorize?" + urlencode(query)
    response = world.visitor.get(url, secure=True)
    if not oracles.uri_is_safe(redirect_uri, redirect=True):
        # Matched against the registered URIs that today's policy accepts: a stored one it
        # refuses is not registered, so this is an error page, never a page whose Allow redirects.
        assert response.status_code == 400 and "Location" not in response, (
            response.status_code,
            redirect_uri,
        )
        return
    assert response.status_code == 200, (response.status_code, response.get("Location", "")[:200])
    page = response.content.decode()
    assert 'id="consent-heading"' in page, "the consent page itself"
    oracles.assert_page_inert(page, "consent page")
    assert escape(client.name) in page, "the consent page names the client, escaped"
    # The site, privacy policy and terms as text (OIDC Registration §2: shown to the user), never a link.
    for uri in (client.client_uri, client.policy_uri, client.tos_uri):
        if uri:
            assert escape(uri) in page, f"the consent page shows {uri[:40]!r} as text"
            assert f'href="{escape(uri)}"' not in page, "a link would leave the decision half-made"
    # Allow: the authorization response goes to the stored URI exactly, and only to it.
    allowed = world.visitor.post(url, {"confirm": "yes"}, secure=True)
    assert allowed.status_code == 302, allowed.status_code
    assert allowed["Location"].startswith(redirect_uri + ("&" if "?" in redirect_uri else "?")), allowed[
        "Location"
    ][:200]


def approval_pages(world: World, passage: Passage, name: str) -> None:
    """The pages an operator approves from, which show what is approved (docs/security.md, the
    machine-facing review, findings 6, 9, 10): the client's "Approve client" page, the list's two
    approval confirmations and the held-changes review, the client pending with its reviewed
    settings held as a proposal. Inert, each setting shown escaped on the approve page."""
    client = _showable(world, passage.client)
    held = {field: getattr(client, field) for field in services.REVIEWED_FIELDS}
    Client.objects.filter(pk=client.pk).update(status=Client.Status.PENDING, pending_changes=held)
    changelist = reverse("admin:server_client_changelist")
    selected = {"_selected_action": [client.pk]}
    shown = {
        "approve page": world.ops.get(
            reverse("admin:server_client_change_status", args=[client.pk, "approve"])
        ),
        "list approval": world.ops.post(changelist, {"action": "approve_selected", **selected}),
        "list approval of held changes": world.ops.post(
            changelist, {"action": "approve_pending_changes", **selected}
        ),
        "held changes review": world.ops.get(reverse("admin:server_client_review_changes", args=[client.pk])),
    }
    for where, response in shown.items():
        assert response.status_code == 200, (where, response.status_code)
        oracles.assert_page_inert(response.content.decode(), where)
    if name in services.CLIENT_FIELDS_EDITABLE:
        page = shown["approve page"].content.decode()
        for value in FIELDS[name].stored_strings(client):
            oracles.assert_value_escaped(page, str(value), f"approve page: {name}")
    Client.objects.filter(pk=client.pk).update(pending_changes={})


# --- spreadsheets: the client and token exports -----------------------------------------------------


def _spreadsheets(world: World, url: str, columns: dict[str, str], client: Client) -> None:
    """The admin's CSV and XLSX exports at `url`: no cell a spreadsheet would run, and the
    client's row is there (after the import's reading of a made-safe cell)."""
    for label, file_format in (("CSV", "0"), ("XLSX", "2")):
        response = world.ops.post(url, {"format": file_format, **columns})
        assert response.status_code == 200, (url, label, response.status_code)
        if label == "CSV":
            oracles.assert_csv_cells_neutral(response.content, f"{url} {label}")
            header, *rows = oracles.csv_rows(response.content)
        else:
            oracles.assert_xlsx_cells_neutral(response.content, f"{url} {label}")
            header, *rows = oracles.xlsx_rows(response.content)
        ids = [from_spreadsheet(row[header.index("client_id")]) for row in rows]
        assert client.client_id in ids, f"{url} {label}: the client's row is exported"


def client_exports(world: World, passage: Passage, name: str) -> None:
    names = ["client_id", "name", "description", "client_uri", "logo_uri", "policy_uri", "tos_uri"]
    names += ["redirect_uris", "scope"]
    columns = {f"clientresource_{column}": "on" for column in names}
    _spreadsheets(world, reverse("admin:server_client_export"), columns, passage.client)


def token_exports(world: World, passage: Passage, name: str) -> None:
    """The token export names each token's client (client_id, client_name columns), and so does
    the token list."""
    client = Client.objects.get(pk=passage.client.pk)
    services.store_token(
        {"access_token": "oat_" + secrets.token_urlsafe(24), "expires_in": 3600},
        client=client,
        user=world.end_user,
        grant_type="authorization_code",
    )
    names = ["id", "client_id", "client_name", "username", "scope", "issued_at"]
    columns = {f"tokenmetadataresource_{column}": "on" for column in names}
    _spreadsheets(world, reverse("admin:server_token_export"), columns, client)
    # The token list names each token's client too, in rows of its own rendering
    # (`oauth_console/admin_rows.py`, not Django's `items_for_result`): inert as well.
    listed = world.ops.get(reverse("admin:server_token_changelist"))
    assert listed.status_code == 200, listed.status_code
    oracles.assert_page_inert(listed.content.decode(), "token list")


# --- the audit log ----------------------------------------------------------------------------------


def _client_events(client: Client) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(client_id=client.client_id, event_type__in=CLIENT_EVENTS)
    return list(events.order_by("id"))


def _recorded(event: AuditEvent, name: str) -> tuple[object, Callable[[Client], object]] | None:
    """What the event recorded for the field and how to read the stored value it must equal
    (None: the event does not record the field)."""
    if event.event_type == EventType.CLIENT_CREATED:
        key = FIELDS[name].audit_key
        return (event.detail[key], FIELDS[name].read) if key in event.detail else None
    change = event.detail.get("changes", {}).get(name)
    return None if change is None else (change[1], lambda client: getattr(client, name))


def audit_detail(world: World, passage: Passage, name: str) -> None:
    """The event a write through the services recorded holds the value exactly as it was stored;
    an update of the field is recorded as a change."""
    client = Client.objects.get(pk=passage.client.pk)
    events = _client_events(client)
    assert events, "a stored client has its client_created event"
    if not passage.through_services:
        return  # written around the services: the log holds what the services wrote, not this
    recorded = [record for record in (_recorded(event, name) for event in events) if record]
    if recorded:
        value, read = recorded[-1]
        assert value == read(client), f"audit recorded {value!r}, stored {read(client)!r}"
    if passage.before is not None and getattr(client, name) != getattr(passage.before, name):
        assert events[-1].event_type == EventType.CLIENT_CHANGED, "the update is in the log"
        assert name in events[-1].detail["changes"], f"the change of {name} is in the log"


def audit_pages(world: World, passage: Passage, name: str) -> None:
    """The audit list filtered on the client, and each event's detail page: inert, and the detail
    shown is the event's detail exactly (escaped JSON, nothing lost, nothing unescaped)."""
    events = _client_events(passage.client)
    changelist = reverse("admin:audit_auditevent_changelist")
    listed = world.ops.get(changelist, {"client_id": passage.client.client_id})
    assert listed.status_code == 200, listed.status_code
    oracles.assert_page_inert(listed.content.decode(), "audit list")
    for event in events:
        page = world.ops.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
        assert page.status_code == 200, page.status_code
        text = page.content.decode()
        oracles.assert_page_inert(text, f"audit detail of {event.event_type}")
        (shown,) = _AUDIT_DETAIL.findall(text)
        assert json.loads(html.unescape(shown)) == event.detail, "the detail page shows the detail exactly"


def audit_exports(world: World, passage: Passage, name: str) -> None:
    """The audit export of the client's events: spreadsheet-neutral, and its detail column reads
    back as the event's detail."""
    events = {event.pk: event for event in _client_events(passage.client)}
    query = urlencode({"client_id": passage.client.client_id})
    export = reverse("admin:audit_auditevent_export") + "?" + query
    columns = {f"auditeventresource_{column}": "on" for column in AUDIT_COLUMNS}
    for label, file_format in (("audit.csv", "0"), ("audit.xlsx", "2")):
        data = {"format": file_format, "resource": "0", **columns}
        response = world.ops.post(export, data)
        assert response.status_code == 200, (label, response.status_code)
        if label.endswith(".csv"):
            oracles.assert_csv_cells_neutral(response.content, label)
            header, *rows = oracles.csv_rows(response.content)
        else:
            oracles.assert_xlsx_cells_neutral(response.content, label)
            header, *rows = oracles.xlsx_rows(response.content)
        exported = {int(row[header.index("id")]): row[header.index("detail")] for row in rows}
        assert set(events) <= set(exported), f"{label}: every event of the client is exported"
        for pk, event in events.items():
            assert json.loads(exported[pk]) == event.detail, f"{label}: detail of event {pk}"


OUTPUTS: dict[str, Callable[[World, Passage, str], None]] = {
    "registration answers": registration_answers,
    "RFC 7592 read": configuration_read,
    "audit detail": audit_detail,
    "audit pages": audit_pages,
    "audit exports": audit_exports,
    "pages": pages,
    "consent page": consent_page,
    "approval pages": approval_pages,
    "client exports": client_exports,
    "token exports": token_exports,
}
