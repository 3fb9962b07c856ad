"""The doors a client's settings come through; each takes (world, values) and returns a Passage."""

import csv
import io
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DataError, connection, transaction
from django.http import HttpResponse
from django.test import Client as HttpClient
from django.urls import reverse

from server import policies, services
from server.actors import Actor
from server.models import Client

from .values import BASE, OIDC_SCALARS


@dataclass
class World:
    operator: object
    developer: object
    end_user: object
    ops: HttpClient
    dev: HttpClient
    user: HttpClient
    visitor: HttpClient  # signed in, never consented to anything: sees the consent page
    anonymous: HttpClient
    api_token: str = ""  # an operator API caller's access token (console:clients:write)


@dataclass
class Passage:
    """What a door did with a cell's values: the client it stored (None: refused), and the JSON
    answers it gave the caller (label -> response), which are outputs too."""

    client: Client | None
    answers: dict[str, HttpResponse] = field(default_factory=dict)
    before: Client | None = None  # an updating door: the client as it was before the update
    through_services: bool = True  # set from the door's row


@dataclass(frozen=True)
class Door:
    """`through_services`: writes go through `server.services` (policy, audit event); `updates`:
    the door registers a clean client first and the cell's values change it."""

    send: Callable[[World, dict], Passage]
    through_services: bool = True
    updates: bool = False


def values_for(field_name: str, value: str) -> dict[str, str]:
    values = dict(BASE, name=f"Matrix {secrets.token_hex(4)}")
    if field_name == "redirect_uris":
        # The front-channel logout URI must be on a redirect URI's origin: left in, every value of
        # this row would be refused for that alone, and the redirect URI rules never reached.
        values["frontchannel_logout_uri"] = ""
    values[field_name] = value
    return values


def _oidc(values: dict, *, json_numbers: bool = False) -> dict:
    """The OIDC metadata a cell sets (the logout URIs always), as a door's caller sends it."""
    found = {
        "post_logout_redirect_uris": values["post_logout_redirect_uris"].split(),
        "backchannel_logout_uri": values["backchannel_logout_uri"],
        "sector_identifier_uri": values["sector_identifier_uri"],
        "frontchannel_logout_uri": values["frontchannel_logout_uri"],
    }
    for name in OIDC_SCALARS:
        if name in values:
            number = json_numbers and name == "default_max_age"
            found[name] = json.loads(values[name]) if number else values[name]
    return found


def door_services(world: World, values: dict) -> Passage:
    try:
        client, _secret = services.create_client(
            client_id=values["client_id"] or None,
            name=values["name"],
            actor=Actor.operator(world.operator),
            owner=world.developer,
            redirect_uris=values["redirect_uris"].split(),
            grant_types=["authorization_code", "refresh_token"],
            scope=["profile"],
            description=values["description"],
            client_uri=values["client_uri"],
            logo_uri=values["logo_uri"],
            policy_uri=values["policy_uri"],
            tos_uri=values["tos_uri"],
            jwks_uri=values["jwks_uri"],
            **_oidc(values, json_numbers=True),
        )
    except policies.PolicyError:
        return Passage(None)
    return Passage(client)


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
        "policy_uri": values["policy_uri"],
        "tos_uri": values["tos_uri"],
        "jwks_uri": values["jwks_uri"],
        **_oidc(values, json_numbers=True),
    }


def _registered_or_none(response, client_id: str | None, label: str) -> Passage:
    """RFC 7591 §3.2.2: a refused value is a 400 whose JSON error names the metadata at fault."""
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert response.status_code == 400, (label, response.status_code, response.content[:300])
        assert response["Content-Type"].split(";")[0] == "application/json", response["Content-Type"]
        body = response.json()
        # A lone surrogate is refused before the metadata is read: the JSON text itself names no
        # character (RFC 7591 §3.2.2 `invalid_request`, the body's error, not a field's).
        malformed = body["error"] == "invalid_request" and "lone surrogate" in body.get(
            "error_description", ""
        )
        assert malformed or body["error"] in {"invalid_client_metadata", "invalid_redirect_uri"}, (
            label,
            body,
        )
        assert body.get("error_description"), "a refusal says what to fix"
        return Passage(None)
    client = Client.objects.get(client_id=client_id or response.json()["client_id"])
    return Passage(client, {label: response})


def register(world: World, values: dict):
    return world.anonymous.post(
        "/oauth/register",
        json.dumps(_metadata(values)),
        content_type="application/json",
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {_iat(world)}",
    )


def door_registration(world: World, values: dict) -> Passage:
    """RFC 7591 dynamic registration."""
    return _registered_or_none(register(world, values), None, "RFC 7591 POST answer")


def door_registration_update(world: World, values: dict) -> Passage:
    """RFC 7592: register a clean client, then PUT the hostile value."""
    created = register(world, BASE)
    assert created.status_code == 201, created.content
    body = created.json()
    update = {**_metadata(values), "client_id": body["client_id"]}
    before = Client.objects.get(client_id=body["client_id"])
    response = world.anonymous.put(
        body["registration_client_uri"],
        json.dumps(update),
        content_type="application/json",
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {body['registration_access_token']}",
    )
    passage = _registered_or_none(response, body["client_id"], "RFC 7592 PUT answer")
    passage.before = before
    return passage


def _newest_if_created(before: int) -> Passage:
    """The client a form door created, if it created one (forms may strip or normalise the name)."""
    return Passage(Client.objects.order_by("-pk").first() if Client.objects.count() > before else None)


def door_portal(world: World, values: dict) -> Passage:
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


def door_admin(world: World, values: dict) -> Passage:
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


def door_import(world: World, values: dict) -> Passage:
    before = Client.objects.count()
    headers = ["client_id", "name", "client_type", "redirect_uris", "grant_types", "scope"]
    headers += ["description", "client_uri", "logo_uri", "policy_uri", "tos_uri"]
    headers += ["post_logout_redirect_uris", "jwks_uri"]
    headers += ["backchannel_logout_uri", "sector_identifier_uri", "frontchannel_logout_uri"]
    headers += [name for name in OIDC_SCALARS if name in values]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    client_id = values["client_id"] or f"imp-{secrets.token_hex(4)}"
    row = [client_id, values["name"], "confidential", values["redirect_uris"]]
    row += ["authorization_code", "profile", values["description"], values["client_uri"], values["logo_uri"]]
    row += [values["policy_uri"], values["tos_uri"]]
    row += [values["post_logout_redirect_uris"], values["jwks_uri"], values["backchannel_logout_uri"]]
    row += [values["sector_identifier_uri"], values["frontchannel_logout_uri"]]
    row += [values[name] for name in OIDC_SCALARS if name in values]
    writer.writerow(row)
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


def door_legacy_row(world: World, values: dict) -> Passage:
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
                redirect_uris=values["redirect_uris"],
                client_uri=values["client_uri"],
                logo_uri=values["logo_uri"],
                policy_uri=values["policy_uri"],
                tos_uri=values["tos_uri"],
                description=values["description"],
                post_logout_redirect_uris=values["post_logout_redirect_uris"],
                jwks_uri=values["jwks_uri"],
                backchannel_logout_uri=values["backchannel_logout_uri"],
                sector_identifier_uri=values["sector_identifier_uri"],
                frontchannel_logout_uri=values["frontchannel_logout_uri"],
            )
    except DataError:
        assert connection.vendor == "postgresql", "SQLite stores whatever it is given"
        return Passage(None)
    client.refresh_from_db()
    return Passage(client)


def door_operator_api(world: World, values: dict) -> Passage:
    """The operator REST API (POST /api/v1/clients) with a client_credentials token: a refusal is
    a 400 problem+json naming the field; a success answers the values exactly as stored."""
    body = {
        "name": values["name"],
        "redirect_uris": [values["redirect_uris"]],
        "scope": ["profile"],
        "description": values["description"],
        "client_uri": values["client_uri"],
        "logo_uri": values["logo_uri"],
        "policy_uri": values["policy_uri"],
        "tos_uri": values["tos_uri"],
        "jwks_uri": values["jwks_uri"],  # left out before: the jwks_uri cells tested nothing here
        "owner": world.developer.username,
        **_oidc(values, json_numbers=True),
    }
    if values["client_id"]:
        body["client_id"] = values["client_id"]
    response = world.anonymous.post(
        "/api/v1/clients",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.api_token}",
    )
    assert response.status_code in (201, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
        problem = response.json()
        # A field's refusal names the field; a lone surrogate is a malformed body (no field).
        assert problem["detail"] and (problem.get("errors") or "lone surrogate" in problem["detail"]), problem
        return Passage(None)
    answer = json.loads(response.content.decode("utf-8"))
    assert response["Content-Type"] == "application/json" and response["X-Content-Type-Options"] == "nosniff"
    client = Client.objects.get(client_id=answer["client_id"])
    for name in ("name", "description", "client_uri", "logo_uri", "policy_uri", "tos_uri"):
        assert answer[name] == getattr(client, name), (name, answer[name])
    assert answer["redirect_uris"] == client.redirect_uri_list
    return Passage(client)


DOORS: dict[str, Door] = {
    "services": Door(door_services),
    "registration": Door(door_registration),
    "registration update": Door(door_registration_update, updates=True),
    "portal": Door(door_portal),
    "admin": Door(door_admin),
    "import": Door(door_import),
    "operator API": Door(door_operator_api),
    "legacy row": Door(door_legacy_row, through_services=False),
}
