"""Idempotency-Key on creates: a replay answers as the first time without a second write; the same
key with another body is 422; the one-time secret is never stored for a replay."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauth_console.api.idempotency import KEPT_FOR
from oauth_console.api.models import IdempotencyRecord
from oauth_console.audit.models import AuditEvent
from server.models import Client, ClientSecret, InitialAccessToken

from .conftest import api_with, assert_problem, web_client

pytestmark = pytest.mark.django_db
BASE = "/api/v1/clients"


def test_a_replay_returns_the_first_answer_without_a_second_write(api):
    first = api.post(BASE, web_client(), HTTP_IDEMPOTENCY_KEY="create-billing-1")
    assert first.status_code == 201
    created = AuditEvent.objects.filter(event_type="client_created").count()
    replay = api.post(BASE, web_client(), HTTP_IDEMPOTENCY_KEY="create-billing-1")
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["client_id"] == first.json()["client_id"]
    # Shown once: the stored answer has no secret.
    assert first.json()["client_secret"] and replay.json()["client_secret"] is None
    assert Client.objects.filter(name="Billing portal").count() == 1
    assert AuditEvent.objects.filter(event_type="client_created").count() == created
    record = IdempotencyRecord.objects.get()
    assert first.json()["client_secret"] not in str(record.response_body)


def test_the_same_key_with_another_body_is_422(api):
    assert api.post(BASE, web_client(), HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    body = assert_problem(api.post(BASE, web_client(name="Other"), HTTP_IDEMPOTENCY_KEY="k1"), 422)
    assert body["type"].endswith("idempotency-key-reused")
    assert not Client.objects.filter(name="Other").exists()


def test_keys_are_per_caller(api):
    assert api.post(BASE, web_client(), HTTP_IDEMPOTENCY_KEY="shared").status_code == 201
    other = api_with(["console:clients:write"])
    second = other.post(BASE, web_client(), HTTP_IDEMPOTENCY_KEY="shared")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    assert Client.objects.filter(name="Billing portal").count() == 2


def test_a_failed_create_keeps_no_key(api):
    assert_problem(api.post(BASE, web_client(redirect_uris=["ftp://x"]), HTTP_IDEMPOTENCY_KEY="k2"), 400)
    assert not IdempotencyRecord.objects.exists()
    assert api.post(BASE, web_client(), HTTP_IDEMPOTENCY_KEY="k2").status_code == 201


def test_keys_expire_after_24_hours(api):
    assert api.post(BASE, web_client(), HTTP_IDEMPOTENCY_KEY="daily").status_code == 201
    assert_problem(api.post(BASE, web_client(name="Next day"), HTTP_IDEMPOTENCY_KEY="daily"), 422)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timezone.timedelta(hours=24, seconds=1))
    later = api.post(BASE, web_client(name="Next day"), HTTP_IDEMPOTENCY_KEY="daily")
    assert later.status_code == 201 and "Idempotent-Replayed" not in later
    assert IdempotencyRecord.objects.count() == 1  # the expired record went


def test_a_bad_key_is_400(api):
    for key in ("", "x" * 256, "caf\u00e9"):
        body = assert_problem(api.post(BASE, web_client(), HTTP_IDEMPOTENCY_KEY=key), 400)
        assert "Idempotency-Key" in body["errors"]
    assert not Client.objects.filter(name="Billing portal").exists()


def test_rotation_and_initial_access_tokens_take_keys_too(api):
    client = api.post(BASE, web_client()).json()["client_id"]
    url = f"{BASE}/{client}/secrets/rotate"
    first = api.post(url, {"grace_period_seconds": 0}, HTTP_IDEMPOTENCY_KEY="rot-1")
    replay = api.post(url, {"grace_period_seconds": 0}, HTTP_IDEMPOTENCY_KEY="rot-1")
    assert first.status_code == replay.status_code == 201
    assert replay.json()["client_secret"] is None
    assert ClientSecret.objects.filter(client__client_id=client).count() == 2
    iat = api.post("/api/v1/initial-access-tokens", {}, HTTP_IDEMPOTENCY_KEY="iat-1")
    again = api.post("/api/v1/initial-access-tokens", {}, HTTP_IDEMPOTENCY_KEY="iat-1")
    assert iat.json()["token"].startswith("oia_") and again.json()["token"] is None
    assert InitialAccessToken.objects.count() == 1


def test_the_daily_job_deletes_every_callers_expired_records_and_keeps_the_rest():
    now = timezone.now()
    for caller, age in [("client:a", KEPT_FOR + timedelta(minutes=1)), ("client:b", KEPT_FOR * 3)]:
        IdempotencyRecord.objects.create(caller=caller, key="k", fingerprint="f", created_at=now - age)
    kept = IdempotencyRecord.objects.create(
        caller="client:a", key="fresh", fingerprint="f", created_at=now - KEPT_FOR + timedelta(minutes=1)
    )

    call_command("prune_idempotency_keys", stdout=io.StringIO())

    assert list(IdempotencyRecord.objects.all()) == [kept]
