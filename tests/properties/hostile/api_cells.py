"""The hostile-values matrix's rows for an API's (resource server's) fields: the identifier (an
RFC 8707 resource, shown on the consent page and in exports) and the name (shown to end users).

An API is written by operators, never by a client's developer, but its name and identifier reach
the consent page every end user reads, so the same values and the same rule hold: each door
refuses a value (nothing written, no event) or stores it, and a stored one is inert in every output.
"""

import io
import json

from django.test import Client as HttpClient

from server import services
from server.actors import Actor
from server.models import Api
from server.policy_rules import PolicyError

from .values import HOSTILE_HOST_URIS, HOSTILE_TEXT, HOSTILE_URIS

API_BASE = {"identifier": "https://orders.example.com/", "name": "Orders"}
API_FIELDS = {"identifier": [*HOSTILE_URIS, *HOSTILE_HOST_URIS], "name": HOSTILE_TEXT}


def _service(ops: HttpClient, values: dict) -> Api | None:
    try:
        return services.create_api(actor=Actor.system("matrix"), scopes={"orders:read": "Read"}, **values)
    except PolicyError:
        return None


def _admin_form(ops: HttpClient, values: dict) -> Api | None:
    data = {
        **values,
        "scopes_text": "orders:read: Read",
        "token_format": "opaque",
        "access_token_lifetime": "",
    }
    response = ops.post("/admin/server/api/add/", data)
    assert response.status_code in (200, 302), response.status_code
    return Api.objects.filter(is_default=False).first() if response.status_code == 302 else None


def _json_import(ops: HttpClient, values: dict) -> Api | None:
    upload = io.BytesIO(json.dumps([{**values, "scopes": {"orders:read": "Read"}}]).encode())
    upload.name = "apis.json"
    response = ops.post("/admin/server/api/import/", {"file": upload})
    assert response.status_code in (302, 400), response.status_code
    return Api.objects.filter(is_default=False).first() if response.status_code == 302 else None


API_DOORS = {"services": _service, "admin form": _admin_form, "JSON import": _json_import}
