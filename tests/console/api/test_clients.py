"""Clients through the API: list, filter, retrieve, create (secret once), PUT, PATCH, status, delete."""

import pytest
from django.contrib.auth import get_user_model

from oauth_console.audit.models import AuditEvent, EventType
from server import credentials, services
from server.actors import Actor
from server.models import Client

from .conftest import assert_problem, web_client

pytestmark = pytest.mark.django_db
BASE = "/api/v1/clients"


def events(event_type):
    """The API's events of a type (the test bed's own setup is recorded by a system actor)."""
    return list(AuditEvent.objects.filter(event_type=event_type).exclude(actor_kind="system"))


def test_create_shows_the_secret_once_and_records_the_calling_client(api):
    response = api.post(BASE, web_client())
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["client_secret"]
    assert secret.startswith("ocs_")
    client = Client.objects.get(client_id=body["client_id"])
    assert client.check_client_secret(secret)
    assert client.source == Client.Source.OPERATOR
    assert response["Cache-Control"] == "no-store"
    # Never again: not in the retrieve, not in the list.
    again = api.get(f"{BASE}/{client.client_id}")
    assert again.status_code == 200 and "client_secret" not in again.json()
    assert secret not in api.get(BASE).content.decode()
    [event] = events(EventType.CLIENT_CREATED)
    assert event.actor_kind == "client"
    assert event.actor_label == f"client:{api.client.client_id}"
    assert secret not in str(event.detail)


def test_public_client_has_no_secret(api):
    body = web_client(client_type="public")
    response = api.post(BASE, body)
    assert response.status_code == 201, response.content
    assert response.json()["client_secret"] is None
    assert response.json()["token_endpoint_auth_method"] == "none"


def test_list_filters_and_pages(api, django_user_model):
    bob = django_user_model.objects.create_user("bob")
    services.create_client(
        name="Alpha one", actor=Actor.system("t"), owner=bob, redirect_uris=["https://a.example.com/cb"]
    )
    pending, _ = services.create_client(
        name="Beta",
        actor=Actor.system("t"),
        status=Client.Status.PENDING,
        redirect_uris=["https://b.example.com/cb"],
    )
    services.create_client(
        name="Gamma",
        actor=Actor.system("t"),
        client_type="public",
        redirect_uris=["https://g.example.com/cb"],
    )
    names = lambda response: sorted(c["name"] for c in response.json()["results"])  # noqa: E731
    assert names(api.get(BASE, {"status": "pending"})) == ["Beta"]
    assert names(api.get(BASE, {"client_type": "public"})) == ["Gamma"]
    assert names(api.get(BASE, {"owner": "bob"})) == ["Alpha one"]
    assert names(api.get(BASE, {"name": "ALPHA"})) == ["Alpha one"]
    page = api.get(BASE, {"limit": 2}).json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    assert api.get(f"{BASE}/{pending.client_id}").json()["status"] == "pending"


def test_unknown_filter_and_unknown_client(api):
    body = assert_problem(api.get(BASE, {"stauts": "active"}), 400, "validation-error")
    assert "stauts" in body["errors"]
    assert_problem(api.get(BASE, {"status": "sleeping"}), 400)
    assert_problem(api.get(f"{BASE}/no-such-client"), 404, "not-found")
    assert_problem(api.get(BASE + "?status=active&status=disabled"), 400)


def test_put_creates_then_is_idempotent(api):
    url = f"{BASE}/terraform-billing"
    first = api.put(url, web_client())
    assert first.status_code == 201, first.content
    assert first.json()["client_secret"]
    second = api.put(url, web_client())
    assert second.status_code == 200
    assert "client_secret" not in second.json()
    assert Client.objects.filter(client_id="terraform-billing").count() == 1
    assert len(events(EventType.CLIENT_CREATED)) == 1
    assert events(EventType.CLIENT_CHANGED) == []  # nothing changed, nothing recorded
    # A full document: what is left out goes back to its default.
    third = api.put(url, web_client(name="Billing v2", require_consent=True))
    assert third.json()["name"] == "Billing v2" and third.json()["require_consent"] is True
    fourth = api.put(url, web_client(name="Billing v2"))
    assert fourth.json()["require_consent"] is False
    assert len(events(EventType.CLIENT_CHANGED)) == 2


def test_put_cannot_change_type_or_owner(api, django_user_model):
    url = f"{BASE}/fixed"
    assert api.put(url, web_client()).status_code == 201
    body = assert_problem(api.put(url, web_client(client_type="public")), 400)
    assert "client_type" in body["errors"]
    django_user_model.objects.create_user("carol")
    body = assert_problem(api.put(url, web_client(owner="carol")), 400)
    assert "owner" in body["errors"]


def test_patch_changes_only_what_is_given(api):
    client, _ = services.create_client(
        name="Shop", actor=Actor.system("t"), redirect_uris=["https://shop.example.com/cb"], scope=["profile"]
    )
    response = api.patch(f"{BASE}/{client.client_id}", {"scope": ["profile", "email"]})
    assert response.status_code == 200, response.content
    client.refresh_from_db()
    assert client.scope == "profile email" and client.name == "Shop"
    [event] = events(EventType.CLIENT_CHANGED)
    assert event.actor_label == f"client:{api.client.client_id}"
    assert api.patch(f"{BASE}/{client.client_id}", {}).status_code == 200


def test_policy_errors_name_the_field(api):
    body = assert_problem(api.post(BASE, web_client(redirect_uris=["javascript:alert(1)"])), 400, "policy")
    assert "redirect_uris" in body["errors"]
    body = assert_problem(api.post(BASE, web_client(scope=["profile", "no-such-scope"])), 400, "policy")
    assert "scope" in body["errors"]
    body = assert_problem(api.post(BASE, web_client(client_uri="http://plain.example.com")), 400)
    assert "client_uri" in body["errors"]
    taken = api.post(BASE, web_client(client_id="dup"))
    assert taken.status_code == 201
    body = assert_problem(api.post(BASE, web_client(client_id="dup")), 400)
    assert "client_id" in body["errors"]
    assert Client.objects.filter(client_id="dup").count() == 1


def test_status_changes(api):
    client, _ = services.create_client(
        name="Pending app",
        actor=Actor.system("t"),
        status=Client.Status.PENDING,
        redirect_uris=["https://p.example.com/cb"],
    )
    url = f"{BASE}/{client.client_id}"
    assert_problem(api.post(f"{url}/enable", {"reason": "x"}), 409, "conflict")
    shown = api.get(url).json()["settings_fingerprint"]
    approve = {"reason": "looks fine", "settings_fingerprint": shown}
    assert api.post(f"{url}/approve", approve).json()["status"] == "active"
    assert api.post(f"{url}/disable", {"reason": "abuse report 42"}).json()["status"] == "disabled"
    assert Client.objects.get(pk=client.pk).status_reason == "abuse report 42"
    assert api.post(f"{url}/disable", {"reason": "again"}).status_code == 200  # already: no-op
    assert api.post(f"{url}/enable", {}).json()["status"] == "active"
    assert_problem(api.post(f"{url}/reject", {}), 409)
    [disabled] = events(EventType.CLIENT_DISABLED)
    assert disabled.actor_label == f"client:{api.client.client_id}"
    assert len(events(EventType.CLIENT_APPROVED)) == 1 and len(events(EventType.CLIENT_ENABLED)) == 1

    other, _ = services.create_client(
        name="Spam",
        actor=Actor.system("t"),
        status=Client.Status.PENDING,
        redirect_uris=["https://s.example.com/cb"],
    )
    assert api.post(f"{BASE}/{other.client_id}/reject", {"reason": "spam"}).json()["status"] == "rejected"


def test_delete(api):
    client, _ = services.create_client(
        name="Old", actor=Actor.system("t"), redirect_uris=["https://o.example.com/cb"]
    )
    response = api.delete(f"{BASE}/{client.client_id}")
    assert response.status_code == 204
    assert not Client.objects.filter(pk=client.pk).exists()
    assert events(EventType.CLIENT_DELETED)[0].actor_label == f"client:{api.client.client_id}"
    assert_problem(api.delete(f"{BASE}/{client.client_id}"), 404)


def test_owner_must_exist(api):
    body = assert_problem(api.post(BASE, web_client(owner="nobody")), 400)
    assert "owner" in body["errors"]
    get_user_model().objects.create_user("dana")
    assert api.post(BASE, web_client(owner="dana")).json()["owner"] == "dana"


def test_secrets_never_listed_with_digests(api):
    response = api.post(BASE, web_client())
    client = Client.objects.get(client_id=response.json()["client_id"])
    listed = api.get(f"{BASE}/{client.client_id}/secrets").json()
    [row] = listed
    assert set(row) == {"id", "prefix", "created_at", "expires_at", "last_used_at", "is_expired"}
    assert row["prefix"] == credentials.display_prefix(response.json()["client_secret"])


def test_the_settings_fingerprint_a_write_answers_is_the_one_a_read_answers(api):
    """An approval sends back the settings_fingerprint it read: the answer of a PATCH, PUT or POST
    must carry the same one a GET then does (the values as stored, not as sent)."""
    client, _ = services.create_client(
        name="Pending app",
        actor=Actor.system("t"),
        status=Client.Status.PENDING,
        redirect_uris=["https://p.example.com/cb"],
    )
    url = f"{BASE}/{client.client_id}"
    changes = {
        "contacts": ["b@example.com"],
        "default_max_age": 60,
        "post_logout_redirect_uris": ["https://p.example.com/bye"],
        "scope": ["openid", "profile"],
    }
    patched = api.patch(url, changes).json()
    assert patched["settings_fingerprint"] == api.get(url).json()["settings_fingerprint"]
    put = api.put(url, {"name": "Pending app 2", "redirect_uris": ["https://p.example.com/cb"]}).json()
    assert (
        put["settings_fingerprint"]
        == api.get(url).json()["settings_fingerprint"]
        != patched["settings_fingerprint"]
    )
    created = api.post(BASE, web_client(contacts=["x@example.com"])).json()
    read = api.get(f"{BASE}/{created['client_id']}").json()
    assert created["settings_fingerprint"] == read["settings_fingerprint"]
