"""Managed signing keys: the life cycle (next, active, retired, revoked), encryption at rest, the
JWKS that publishes them, the rotate_signing_keys command and the audit events of each change."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone

from oauth_console.audit.models import AuditEvent
from server import checks, key_crypto, services
from server.actors import Actor
from server.conf import server_settings
from server.models import SigningKey

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def jwks(http=None):
    response = (http or HttpClient()).get("/oauth/jwks")
    assert response.status_code == 200
    return response, response.json()["keys"]


def test_a_fresh_install_publishes_one_rs256_key_on_first_need():
    assert not SigningKey.objects.exists()
    response, keys = jwks()
    assert [(k["alg"], k["use"], k["kty"]) for k in keys] == [("RS256", "sig", "RSA")]
    key = SigningKey.objects.get()
    assert key.state == SigningKey.State.ACTIVE and keys[0]["kid"] == key.kid
    assert not any(member in keys[0] for member in PRIVATE_MEMBERS)
    # Cacheable, for less than a next key is published before it signs.
    assert response["Cache-Control"] == "public, max-age=3600"


def test_the_private_key_is_stored_only_encrypted_and_bound_to_its_kid(settings):
    key = services.create_signing_key(alg="ES256", actor=ACTOR)
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_encrypted FROM server_signingkey WHERE id = %s", [key.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("v1.")
    plain = key_crypto.decrypt_private_key(key.kid, stored)
    private = json.loads(plain)["d"]
    assert private not in stored and private not in json.dumps(key.public_jwk)
    # Another row's kid as associated data: the ciphertext does not open.
    with pytest.raises(key_crypto.KeyDecryptionError):
        key_crypto.decrypt_private_key("another-kid", stored)
    # A changed encryption key cannot read it (and says what to do).
    settings.OAUTH2_KEY_ENCRYPTION_KEY = "a-different-key-" * 4
    with pytest.raises(key_crypto.KeyDecryptionError, match="Rotate the signing keys"):
        key_crypto.decrypt_private_key(key.kid, stored)


def test_life_cycle_next_active_retired_revoked_and_what_the_jwks_shows(settings):
    first = services.signing_key_for("RS256")
    upcoming = services.create_signing_key(alg="RS256", actor=ACTOR)
    assert {k["kid"] for k in jwks()[1]} == {first.kid, upcoming.kid}  # next is published before use

    services.activate_signing_key(upcoming, actor=ACTOR)
    first.refresh_from_db()
    assert first.state == SigningKey.State.RETIRED and first.retired_at is not None
    assert services.signing_key_for("RS256").kid == upcoming.kid
    # Retired, but published while the tokens it signed may still be valid.
    assert {k["kid"] for k in jwks()[1]} == {first.kid, upcoming.kid}

    SigningKey.objects.filter(pk=first.pk).update(retired_at=timezone.now() - timedelta(hours=2))
    assert {k["kid"] for k in jwks()[1]} == {upcoming.kid}

    services.revoke_signing_key(upcoming, actor=ACTOR, reason="leaked")
    # Revoked: gone from the JWKS at once; the next ID token gets a new key.
    replacement = services.signing_key_for("RS256")
    assert replacement.kid not in {first.kid, upcoming.kid}
    assert {k["kid"] for k in jwks()[1]} == {replacement.kid}


def test_state_rules_are_enforced():
    key = services.create_signing_key(alg="RS256", actor=ACTOR)
    with pytest.raises(services.SigningKeyError):
        services.retire_signing_key(key, actor=ACTOR)  # not active
    services.activate_signing_key(key, actor=ACTOR)
    with pytest.raises(services.SigningKeyError):
        services.activate_signing_key(key, actor=ACTOR)  # already active
    services.retire_signing_key(key, actor=ACTOR)
    services.revoke_signing_key(key, actor=ACTOR)
    with pytest.raises(services.SigningKeyError):
        services.revoke_signing_key(key, actor=ACTOR)
    with pytest.raises(services.SigningKeyError):
        services.create_signing_key(alg="none", actor=ACTOR)


def test_one_active_key_per_algorithm():
    rs = services.signing_key_for("RS256")
    es = services.signing_key_for("ES256")
    assert (rs.alg, es.alg) == ("RS256", "ES256")
    assert SigningKey.objects.filter(state="active").count() == 2
    assert services.signing_key_for("RS256").pk == rs.pk


def test_rotate_command_waits_for_the_lead_time_unless_told_not_to():
    out = StringIO()
    call_command("rotate_signing_keys", stdout=out)
    assert "published a new next key" in out.getvalue()
    upcoming = SigningKey.objects.get(state="next")

    out = StringIO()
    call_command("rotate_signing_keys", stdout=out)
    assert f"next key {upcoming.kid}" in out.getvalue() and "--now" in out.getvalue()
    assert SigningKey.objects.get(pk=upcoming.pk).state == "next"

    lead = timedelta(seconds=server_settings.OAUTH2_SIGNING_KEY_LEAD_TIME)
    SigningKey.objects.filter(pk=upcoming.pk).update(created_at=timezone.now() - lead - timedelta(seconds=1))
    out = StringIO()
    call_command("rotate_signing_keys", stdout=out)
    assert f"activated {upcoming.kid}" in out.getvalue()
    assert SigningKey.objects.get(pk=upcoming.pk).state == "active"
    assert SigningKey.objects.filter(state="next").count() == 1

    out = StringIO()
    call_command("rotate_signing_keys", "--now", stdout=out)
    assert SigningKey.objects.filter(state="retired").count() == 1
    assert SigningKey.objects.filter(state="active").exclude(pk=upcoming.pk).count() == 1

    out = StringIO()
    call_command("rotate_signing_keys", "--list", stdout=out)
    assert out.getvalue().count("RS256") == 3 and "retired" in out.getvalue()


def test_revoke_through_the_command():
    key = services.signing_key_for("RS256")
    out = StringIO()
    # --revoke=KID: a kid is base64url and may start with "-", which argparse would read as an
    # option in `--revoke KID` (a random kid did, one run in 64: "expected one argument").
    call_command("rotate_signing_keys", f"--revoke={key.kid}", "--reason", "test", stdout=out)
    assert "Revoked" in out.getvalue()
    assert SigningKey.objects.get(pk=key.pk).state == "revoked"
    with pytest.raises(CommandError):
        call_command("rotate_signing_keys", "--revoke", "no-such-kid")


@pytest.mark.django_db(transaction=True)
def test_every_key_change_reaches_the_audit_log():
    first = services.signing_key_for("RS256")
    upcoming = services.create_signing_key(alg="RS256", actor=Actor.system("rotation"))
    services.activate_signing_key(upcoming, actor=Actor.system("rotation"))
    services.retire_signing_key(upcoming, actor=Actor.system("rotation"))
    services.revoke_signing_key(first, actor=Actor.system("rotation"), reason="compromised")
    seen = [(e.event_type, e.detail["kid"]) for e in AuditEvent.objects.order_by("id")]
    assert seen == [
        ("signing_key_created", first.kid),
        ("signing_key_activated", first.kid),
        ("signing_key_created", upcoming.kid),
        ("signing_key_activated", upcoming.kid),
        ("signing_key_retired", upcoming.kid),
        ("signing_key_revoked", first.kid),
    ]
    activated = AuditEvent.objects.filter(event_type="signing_key_activated").latest("id")
    assert activated.detail["retired_kid"] == first.kid
    revoked = AuditEvent.objects.get(event_type="signing_key_revoked")
    assert revoked.detail["reason"] == "compromised" and revoked.detail["previous_state"] == "retired"
    stored = json.dumps(list(AuditEvent.objects.values("detail")))
    assert key_crypto.decrypt_private_key(first.kid, first.private_key_encrypted)[:20] not in stored


def test_jwks_max_age_must_be_shorter_than_the_lead_time(settings):
    assert checks.check_jwks_max_age() == []
    settings.OAUTH2_JWKS_MAX_AGE = settings.OAUTH2_SIGNING_KEY_LEAD_TIME = 86400
    assert [m.id for m in checks.check_jwks_max_age()] == ["server.E006"]
