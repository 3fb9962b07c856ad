"""The matrix for APIs (`api_cells`): every door by the identifier and name by every hostile value."""

import json
from urllib.parse import urlsplit

import pytest
from django.test import Client as HttpClient

from oauth_console.audit.models import AuditEvent
from server import api_policy
from server.models import Api
from tests.server.helpers import pkce_pair
from tests.server.resource_helpers import authorize_query

from . import oracles
from .api_cells import API_BASE, API_DOORS, API_FIELDS

pytestmark = pytest.mark.django_db

CELLS = [
    (door, field, value) for door in API_DOORS for field, values in API_FIELDS.items() for value in values
]


@pytest.fixture
def ops(django_user_model):
    http = HttpClient()
    http.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "root-pw-123456"))
    return http


@pytest.mark.parametrize("door, field, value", CELLS, ids=[f"{d}|{f}|{v[:24]!r}" for d, f, v in CELLS])
def test_a_hostile_api_value_is_refused_or_stored_and_inert(ops, make_client, end_user, door, field, value):
    api = API_DOORS[door](ops, {**API_BASE, field: value})
    if api is None:
        assert not Api.objects.filter(is_default=False).exists(), "a refused value wrote nothing"
        assert not AuditEvent.objects.filter(event_type="api_created").exists()
        return
    # Stored: it passes the policy as stored (an identifier a client can name, a name people may read),
    # and its host is one nothing reads as another (the oracle, written from the threat).
    api_policy.validate_api_identifier(api.identifier)
    assert oracles.host_is_safe(urlsplit(api.identifier).netloc), api.identifier
    api_policy.validate_api_name(api.name)
    api.allow_any_client = True
    api.save()
    client, _secret = make_client()
    browser = HttpClient()
    browser.force_login(end_user)
    _verifier, challenge = pkce_pair()
    page = browser.get(
        authorize_query(client.client_id, challenge, scope="orders:read", resources=[api.identifier])
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    exported = ops.post("/admin/server/api/", {"action": "export_json", "_selected_action": [str(api.pk)]})
    assert json.loads(exported.content)[0][field] == getattr(api, field)
    listing = ops.get("/admin/server/api/").content.decode()
    assert "<script>alert" not in listing and "<img src=x" not in listing
