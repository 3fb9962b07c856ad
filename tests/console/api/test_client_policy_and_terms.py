"""A client's privacy policy and terms of service (policy_uri, tos_uri) through the operator API:
created, changed, refused by the client_uri policy, answered, and in the OpenAPI schema."""

import pytest
import yaml
from django.test import Client as HttpClient

from server.models import Client

from .conftest import assert_problem, web_client

pytestmark = pytest.mark.django_db
BASE = "/api/v1/clients"
POLICY = "https://app.example.com/privacy"
TERMS = "https://app.example.com/terms"


def test_create_change_and_read_them(api):
    created = api.post(BASE, web_client(policy_uri=POLICY))
    assert created.status_code == 201, created.content
    assert (created.json()["policy_uri"], created.json()["tos_uri"]) == (POLICY, "")
    client_id = created.json()["client_id"]
    changed = api.patch(f"{BASE}/{client_id}", {"tos_uri": TERMS})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["policy_uri"], changed.json()["tos_uri"]) == (POLICY, TERMS)
    read = api.get(f"{BASE}/{client_id}").json()
    assert (read["policy_uri"], read["tos_uri"]) == (POLICY, TERMS)
    stored = Client.objects.get(client_id=client_id)
    assert (stored.policy_uri, stored.tos_uri) == (POLICY, TERMS)


@pytest.mark.parametrize("field", ["policy_uri", "tos_uri"])
@pytest.mark.parametrize(
    "hostile",
    ["javascript:alert(1)", "http://plain.example.com/", "https://u:p@app.example.com/", "https://a/\x00"],
)
def test_a_hostile_value_is_a_problem_naming_the_field_and_changes_nothing(api, field, hostile):
    created = api.post(BASE, web_client()).json()
    body = assert_problem(api.patch(f"{BASE}/{created['client_id']}", {field: hostile}), 400)
    assert field in body["errors"]
    assert getattr(Client.objects.get(client_id=created["client_id"]), field) == ""
    body = assert_problem(api.post(BASE, web_client(name="Refused", **{field: hostile})), 400)
    assert field in body["errors"]
    assert not Client.objects.filter(name="Refused").exists()


def test_the_schema_lists_them_wherever_it_lists_client_uri():
    schema = yaml.safe_load(HttpClient().get("/api/v1/schema/").content)
    components = schema["components"]["schemas"]
    with_client_uri = [name for name, c in components.items() if "client_uri" in c.get("properties", {})]
    assert len(with_client_uri) >= 2, with_client_uri  # answers and requests
    for name in with_client_uri:
        assert {"policy_uri", "tos_uri"} <= set(components[name]["properties"]), name
