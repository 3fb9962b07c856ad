"""Automatic rotation by age: `rotate_signing_keys --if-due`, run by a periodic job, rotates a key
that has signed for OAUTH2_SIGNING_KEY_MAX_AGE, publishing its next key a lead time before."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from oauth_console.audit.models import AuditEvent
from server import checks, services
from server.models import SigningKey

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


@pytest.fixture
def ninety_days(settings):
    settings.OAUTH2_SIGNING_KEY_MAX_AGE = 90 * DAY
    settings.OAUTH2_SIGNING_KEY_LEAD_TIME = 2 * DAY


def if_due() -> str:
    out = StringIO()
    call_command("rotate_signing_keys", "--if-due", stdout=out)
    return out.getvalue()


def states() -> dict[str, str]:
    return dict(SigningKey.objects.values_list("kid", "state"))


def test_off_by_default_does_nothing_however_old_the_key(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    first = services.signing_key_for("RS256")
    time_machine.shift(timedelta(days=3650))
    assert "Automatic rotation is off" in if_due()
    assert states() == {first.kid: "active"}


def test_a_key_is_rotated_once_it_has_signed_for_the_maximum_age(
    ninety_days, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(timezone.now(), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.signing_key_for("RS256")  # a fresh install: active, no next key

    time_machine.shift(timedelta(days=87, hours=23))
    assert "No signing key is due" in if_due()
    assert states() == {first.kid: "active"}

    # A lead time (2 days) before it is due, the next key is published, not yet signing.
    time_machine.shift(timedelta(hours=1))
    assert "published a new next key" in if_due()
    upcoming = SigningKey.objects.get(state="next")
    assert "No signing key is due" in if_due()  # idempotent: one next key, not one per run

    # Due at 90 days: the next key (published for the lead time) signs, the old one is retired.
    time_machine.shift(timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        output = if_due()
    assert f"activated {upcoming.kid}" in output
    assert states()[first.kid] == "retired"
    assert states()[upcoming.kid] == "active"
    assert services.signing_key_for("RS256").kid == upcoming.kid
    assert SigningKey.objects.filter(state="next").count() == 1  # the one after, already published

    # The new key is fresh: nothing is due until it, too, has signed for 90 days.
    time_machine.shift(timedelta(days=30))
    assert "No signing key is due" in if_due()
    assert states()[upcoming.kid] == "active"

    types = list(AuditEvent.objects.order_by("id").values_list("event_type", flat=True))
    assert types.count("signing_key_activated") == 2  # the first key, then the rotation
    actors = AuditEvent.objects.filter(event_type="signing_key_activated").values_list(
        "actor_label", flat=True
    )
    assert any("--if-due" in actor for actor in actors)


def test_a_due_key_whose_next_key_is_too_new_waits_for_the_lead_time(ninety_days, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    first = services.signing_key_for("RS256")
    time_machine.shift(timedelta(days=100))  # the job did not run for a while: due, no next key
    assert "published a new next key" in if_due()
    upcoming = SigningKey.objects.get(state="next")
    time_machine.shift(timedelta(days=1))
    assert "activates after" in if_due()  # published one day of two: still waiting
    assert states()[first.kid] == "active"
    time_machine.shift(timedelta(days=1))
    assert f"activated {upcoming.kid}" in if_due()


def test_each_algorithm_is_rotated_on_its_own_age(ninety_days, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    rs = services.signing_key_for("RS256")
    time_machine.shift(timedelta(days=60))
    es = services.signing_key_for("ES256")
    time_machine.shift(timedelta(days=88))  # RS256 148 days old (due), ES256 88 (next key time)
    if_due()
    assert SigningKey.objects.filter(alg="RS256", state="next").count() == 1
    assert SigningKey.objects.filter(alg="ES256", state="next").count() == 1
    assert states()[rs.kid] == "active"  # its next key must wait the lead time first
    time_machine.shift(timedelta(days=2))
    if_due()
    assert states()[rs.kid] == "retired"
    assert states()[es.kid] == "retired"


def test_if_due_refuses_the_options_that_would_override_it(ninety_days):
    with pytest.raises(CommandError, match="--if-due"):
        call_command("rotate_signing_keys", "--if-due", "--now", stdout=StringIO())


@pytest.mark.parametrize("value", [2 * DAY, DAY, -1, "90d", 1.5])
def test_a_maximum_age_not_longer_than_the_lead_time_is_a_configuration_error(settings, value):
    settings.OAUTH2_SIGNING_KEY_LEAD_TIME = 2 * DAY
    settings.OAUTH2_SIGNING_KEY_MAX_AGE = value
    assert [m.id for m in checks.check_signing_key_max_age()] == ["server.E007"]


@pytest.mark.parametrize("value", [0, 2 * DAY + 1, 90 * DAY])
def test_off_or_longer_than_the_lead_time_is_accepted(settings, value):
    settings.OAUTH2_SIGNING_KEY_LEAD_TIME = 2 * DAY
    settings.OAUTH2_SIGNING_KEY_MAX_AGE = value
    assert checks.check_signing_key_max_age() == []
