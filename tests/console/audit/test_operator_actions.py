"""Every operator action reaches the audit log (issue 12): revoking initial access tokens,
expiring unredeemed codes, issuing a registration access token, `cleartokens` (with the count),
the audit commands themselves (who, what range, how many), and a developer's sign-up."""

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauth_console.audit.models import AuditEvent, EventType
from server import credentials, services
from server.actors import Actor
from server.models import AuthorizationCode, InitialAccessToken, Token

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def last(event_type: str) -> AuditEvent:
    return AuditEvent.objects.filter(event_type=event_type).order_by("id").last()


def test_revoking_initial_access_tokens_is_recorded_with_who_and_which(admin_user):
    first, _ = services.create_initial_access_token(actor=Actor.system("t"), description="one")
    second, _ = services.create_initial_access_token(actor=Actor.system("t"), description="two")
    operator = Actor.operator(admin_user)
    assert services.revoke_initial_access_tokens(InitialAccessToken.objects.all(), actor=operator) == 2
    event = last(EventType.INITIAL_ACCESS_TOKEN_REVOKED)
    assert event is not None
    assert event.actor_label == operator.label
    assert event.detail["count"] == 2
    assert sorted(event.detail["initial_access_tokens"]) == sorted([first.pk, second.pk])
    # Revoking them again changes nothing and records nothing new.
    assert services.revoke_initial_access_tokens(InitialAccessToken.objects.all(), actor=operator) == 0
    assert AuditEvent.objects.filter(event_type=EventType.INITIAL_ACCESS_TOKEN_REVOKED).count() == 1


def _token(client, *, expires_at) -> Token:
    access = credentials.generate("access_token")
    return Token.objects.create(
        access_token_digest=credentials.digest(access),
        access_token_prefix=credentials.display_prefix(access),
        client=client,
        grant_type="client_credentials",
        expires_at=expires_at,
        family_id=uuid.uuid4(),
    )


def test_cleartokens_records_how_many_it_deleted(make_client):
    client, _ = make_client()
    now = timezone.now()
    for _ in range(2):
        _token(client, expires_at=now - timedelta(days=1))
    _token(client, expires_at=now + timedelta(hours=1))  # still valid: stays
    output = run("cleartokens")
    assert "Deleted 2 expired token(s)." in output
    event = last(EventType.EXPIRED_TOKENS_CLEARED)
    assert event is not None
    assert event.detail["tokens_deleted"] == 2
    assert event.actor_label == "system:cleartokens"
    assert Token.objects.count() == 1


def test_developer_sign_up_is_recorded():
    user = services.sign_up_developer(username="dev1", email="dev1@example.com", password="a-long-password-1")
    event = last(EventType.DEVELOPER_SIGNED_UP)
    assert event is not None
    assert event.user_id == user.pk and event.username == "dev1"
    assert event.actor_kind == "developer"


def test_export_records_who_what_range_and_how_many(tmp_path):
    services.sign_up_developer(username="dev2", email="dev2@example.com", password="a-long-password-2")
    until = timezone.now() + timedelta(minutes=1)
    run("export_audit_log", "--until", until.isoformat(), "--output", str(tmp_path / "out.jsonl"))
    event = last(EventType.AUDIT_LOG_EXPORTED)
    assert event is not None
    assert event.actor_label == "system:export_audit_log"
    assert "os_user" in event.detail
    assert event.detail["since"] is None and event.detail["until"] == until.isoformat()
    assert event.detail["exported"] == 1


def test_seal_and_verify_record_themselves():
    services.sign_up_developer(username="dev3", email="dev3@example.com", password="a-long-password-3")
    run("seal_audit_log")
    sealed = last(EventType.AUDIT_LOG_SEALED)
    assert sealed is not None and sealed.outcome == "success" and "sealed" in sealed.detail
    run("verify_audit_log")
    verified = last(EventType.AUDIT_LOG_VERIFIED)
    assert verified is not None and verified.outcome == "success"
    assert verified.detail["intact"] is True and verified.detail["checked"] >= 2
    # Its own line verifies too.
    run("verify_audit_log")
    assert last(EventType.AUDIT_LOG_VERIFIED).detail["intact"] is True


def test_prune_records_who_ran_it():
    run("prune_audit_log", "--older-than", "365d")
    event = last(EventType.AUDIT_LOG_PRUNED)
    assert event.actor_label == "system:prune_audit_log" and "os_user" in event.detail


def test_expiring_unredeemed_codes_is_recorded_with_who_why_and_how_many(make_client, end_user, admin_user):
    client, _ = make_client()
    for n in range(2):
        services.store_authorization_code(
            code=f"oac_audit_{n}", client=client, user=end_user, redirect_uri="", scope="profile"
        )
    operator = Actor.operator(admin_user)
    codes = AuthorizationCode.objects.filter(client=client)
    count = services.expire_unredeemed_codes(
        codes, actor=operator, reason="incident 42", criteria={"client_id": client.client_id}
    )
    assert count == 2
    event = last(EventType.AUTHORIZATION_CODES_EXPIRED)
    assert event is not None
    assert event.client_id == client.client_id
    assert event.actor_label == operator.label
    assert event.detail == {"count": 2, "reason": "incident 42", "criteria": {"client_id": client.client_id}}


def test_issuing_a_registration_access_token_is_recorded_without_the_token(make_client, admin_user):
    client, _ = make_client()
    operator = Actor.operator(admin_user)
    first = services.issue_registration_access_token(client, actor=operator)
    second = services.issue_registration_access_token(client, actor=operator)
    recorded = AuditEvent.objects.filter(event_type=EventType.REGISTRATION_ACCESS_TOKEN_ISSUED).order_by("id")
    assert [(e.client_id, e.actor_label, e.detail) for e in recorded] == [
        (client.client_id, operator.label, {"replaced": False}),
        (client.client_id, operator.label, {"replaced": True}),
    ]
    stored = str(list(AuditEvent.objects.values()))
    assert first not in stored and second not in stored


def test_a_dynamic_registration_is_one_client_created_event(admin_user):
    iat, _ = services.create_initial_access_token(actor=Actor.operator(admin_user))
    client, _secret, _token = services.register_dynamic_client(
        initial_access_token=iat,
        actor=Actor.system("registration"),
        name="Registered",
        redirect_uris=["https://registered.example.com/cb"],
    )
    for_client = AuditEvent.objects.filter(client_id=client.client_id)
    assert list(for_client.values_list("event_type", flat=True)) == [EventType.CLIENT_CREATED]
