"""Bad input: bad JSON, unknown fields, wrong types, huge and deep bodies, hostile values. Each is
a 4xx problem+json that names what is wrong, writes nothing, and is never a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.models import Client

from .conftest import assert_problem, web_client

pytestmark = pytest.mark.django_db
BASE = "/api/v1/clients"


def no_new_client(before: int) -> None:
    assert Client.objects.count() == before


@pytest.mark.parametrize(
    "raw",
    ['{"name": "x"', "not json", b'{"name": "\xff\xfe"}', "[1, 2", '{"a": 1}}'],
    ids=["truncated", "text", "not-utf8", "unclosed-list", "trailing"],
)
def test_bad_json_is_400(api, raw):
    before = Client.objects.count()
    body = assert_problem(api.post(BASE, raw=raw), 400, "malformed-body")
    assert body["detail"]
    no_new_client(before)


def test_unknown_fields_are_named(api):
    before = Client.objects.count()
    body = assert_problem(api.post(BASE, web_client(colour="blue", status="active")), 400, "validation-error")
    assert set(body["errors"]) == {"colour", "status"}
    no_new_client(before)
    client = api.post(BASE, web_client()).json()["client_id"]
    body = assert_problem(api.patch(f"{BASE}/{client}", {"client_secret": "mine"}), 400)
    assert "client_secret" in body["errors"]
    assert_problem(api.post(f"{BASE}/{client}/disable", {"reason": "x", "force": True}), 400)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 123),
        ("name", None),
        ("name", ["a"]),
        ("redirect_uris", "https://a.example.com/cb"),
        ("redirect_uris", [1]),
        ("grant_types", ["password"]),
        ("scope", "profile"),
        ("require_consent", "true"),
        ("require_consent", 1),
        ("contacts", ["not-an-email"]),
        ("client_type", "secret-agent"),
        ("token_endpoint_auth_method", "client_secret_jwt"),
        ("id_token_signed_response_alg", "none"),
        ("name", "x" * 101),
        ("redirect_uris", ["https://a.example.com/cb"] * 51),
    ],
)
def test_wrong_types_and_sizes_name_the_field(api, field, value):
    before = Client.objects.count()
    body = assert_problem(api.post(BASE, web_client(**{field: value})), 400)
    assert field in body["errors"], body
    no_new_client(before)


def test_body_that_is_not_an_object(api):
    for raw in ("[]", '"name"', "42", "null"):
        assert_problem(api.post(BASE, raw=raw), 400)


def test_wrong_content_type_is_415(api):
    response = api.post(BASE, raw="name=x", content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415, "unsupported-media-type")


def test_huge_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = Client.objects.count()
    raw = json.dumps(web_client(description="x" * 20_000))
    assert_problem(api.post(BASE, raw=raw), 413, "body-too-large")
    no_new_client(before)


def test_deep_nesting_is_400(api):
    raw = '{"name": ' + "[" * 5000 + "]" * 5000 + "}"
    assert_problem(api.post(BASE, raw=raw), 400, "malformed-body")


def test_wrong_types_elsewhere(api):
    client = api.post(BASE, web_client()).json()["client_id"]
    body = assert_problem(api.post(f"{BASE}/{client}/secrets/rotate", {"grace_period_seconds": "3600"}), 400)
    assert "grace_period_seconds" in body["errors"]
    assert_problem(api.post(f"{BASE}/{client}/secrets/rotate", {"grace_period_seconds": -1}), 400)
    assert_problem(api.post(f"{BASE}/{client}/secrets/rotate", {"grace_period_seconds": 10**12}), 400)
    assert_problem(api.post("/api/v1/tokens/revoke", {"client_id": client}), 400)  # no reason
    assert_problem(api.post("/api/v1/tokens/revoke", {"reason": "all of them"}), 400)  # no criterion
    assert_problem(api.post("/api/v1/tokens/revoke", {"reason": "x", "issued_after": "yesterday"}), 400)
    assert_problem(api.get("/api/v1/tokens", {"state": "zombie"}), 400)
    assert_problem(api.get("/api/v1/tokens", {"cursor": "garbage"}), 404)
    assert_problem(api.get("/api/v1/audit-events", {"since": "tomorrow"}), 400)
    assert_problem(api.get("/api/v1/audit-events", {"event_type": "nope"}), 400)
    assert_problem(api.post("/api/v1/initial-access-tokens", {"max_registrations": 0}), 400)
    assert_problem(api.post("/api/v1/initial-access-tokens", {"allowed_scope": ["console:audit:read"]}), 400)
    assert_problem(api.post("/api/v1/signing-keys/rotate", {"algs": ["HS256"]}), 400)
    assert_problem(api.get(f"{BASE}/{client}/secrets/999999/expire"), 405)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    body=st.dictionaries(
        st.sampled_from(
            ["name", "redirect_uris", "scope", "client_uri", "description", "contacts", "grant_types"]
        ),
        st.one_of(
            st.text(max_size=50),
            st.integers(),
            st.none(),
            st.booleans(),
            st.lists(st.text(max_size=30), max_size=3),
            st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
        ),
    )
)
def test_any_json_document_is_answered_without_a_500(api, body):
    response = api.post(BASE, body)
    assert response.status_code in (201, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert_problem(response, 400)


def test_private_key_jwt_without_keys_is_refused_saying_what_to_register(api):
    before = Client.objects.count()
    body = assert_problem(api.post(BASE, web_client(token_endpoint_auth_method="private_key_jwt")), 400)
    assert "jwks" in body["detail"], body
    no_new_client(before)


def test_a_private_key_jwt_client_is_created_with_its_public_keys_and_no_secret(api):
    from joserfc.jwk import RSAKey

    public = RSAKey.generate_key(2048).as_dict(private=False)
    response = api.post(
        BASE,
        web_client(
            grant_types=["client_credentials"],
            redirect_uris=[],
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [public]},
        ),
    )
    assert response.status_code == 201, response.content[:500]
    body = response.json()
    assert body["client_secret"] is None and body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["jwks"]["keys"][0]["n"] == public["n"] and "d" not in body["jwks"]["keys"][0]
    client = Client.objects.get(client_id=body["client_id"])
    assert client.jwks["keys"][0]["n"] == public["n"]


@pytest.mark.parametrize("client_id", ["%00", "app%00x", "a" * 65, "two%20words"])
def test_a_client_id_in_the_address_no_client_can_have_is_a_problem_not_a_500(api, client_id):
    """PostgreSQL refuses a NUL in a text parameter: GET, PUT, PATCH and DELETE of
    /api/v1/clients/%00 were 500s there. Such an id names no client (404, no query), and a PUT
    that would create it is refused by the client_id rule (400), nothing written."""
    before = Client.objects.count()
    path = f"/api/v1/clients/{client_id}"
    assert_problem(api.get(path), 404)
    assert_problem(api.get(f"{path}/secrets"), 404)
    assert_problem(api.patch(path, {"name": "x"}), 404)
    assert_problem(api.delete(path), 404)
    answer = api.put(path, web_client())
    assert answer.status_code == 400, (answer.status_code, answer.content[:300])
    no_new_client(before)
