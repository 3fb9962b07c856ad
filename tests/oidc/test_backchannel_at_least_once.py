"""Back-channel logout is delivered at least once: a worker killed mid-attempt leaves its task
"running" in django-tasks-db (which never runs it again) and the delivery claimed; once the claim
lapses, `manage.py resume_deliveries` queues it again, and it is sent exactly once more. A
delivery still within its lease is left to the worker that holds it.

The killed worker is simulated as it leaves the database: the delivery claimed by an attempt
(`_claim`, what the task does first) and the task row marked RUNNING, never finished."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from oauth_console.audit.models import AuditEvent
from server.models import BackchannelDelivery
from server.services import backchannel_logout
from tests.task_queue import run_queued_tasks

from .conftest import sign_in_and_get_tokens, verify_id_token
from .test_backchannel_logout import (  # noqa: F401  (fixtures)
    logout_tokens,
    make_rp,
    receiver,
    sign_out,
    verify_logout_token,
)

pytestmark = pytest.mark.django_db(transaction=True)


def resume() -> str:
    out = io.StringIO()
    call_command("resume_deliveries", stdout=out)
    return out.getvalue()


def killed_mid_attempt(*, lapsed: bool) -> BackchannelDelivery:
    """The logout's task was taken by a worker that claimed the delivery and then died."""
    task = DBTaskResult.objects.get(status="READY")
    claimed = backchannel_logout._claim(BackchannelDelivery.objects.get().pk)
    assert claimed is not None and claimed.attempts == 1
    DBTaskResult.objects.filter(pk=task.pk).update(status="RUNNING", started_at=timezone.now())
    if lapsed:
        past = timezone.now() - timedelta(seconds=1)
        BackchannelDelivery.objects.filter(pk=claimed.pk).update(claimed_until=past)
    return claimed


@pytest.fixture
def signed_out(browser, make_rp):  # noqa: F811
    """RP A signed in to and signed out of; its delivery written and queued, not run."""
    a, a_secret = make_rp("RP A", "/bcl-a")
    id_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    sign_out(browser, id_token)
    return a, verify_id_token(id_token, a)


def test_a_delivery_whose_worker_died_is_sent_again_exactly_once(signed_out, receiver):  # noqa: F811
    a, id_claims = signed_out
    killed_mid_attempt(lapsed=True)
    run_queued_tasks("logout")
    assert receiver.received == {}, "django-tasks-db does not run a running task again"

    assert "Queued 1 back-channel logout(s)." in resume()
    assert "Queued 1 back-channel logout(s)." in resume(), "twice before a worker ran: two tasks"
    run_queued_tasks("logout")

    (token,) = logout_tokens(receiver, "/bcl-a")
    assert verify_logout_token(token, a)["sid"] == id_claims["sid"]
    delivery = BackchannelDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.claimed_until) == ("delivered", 2, None)
    assert "Queued 0 back-channel logout(s)." in resume()
    run_queued_tasks("logout")
    assert len(logout_tokens(receiver, "/bcl-a")) == 1


def test_a_delivery_within_its_lease_is_left_to_its_worker(signed_out, receiver):  # noqa: F811
    killed_mid_attempt(lapsed=False)
    assert "Queued 0 back-channel logout(s)." in resume()
    # Even a task for it (a duplicate, a retry) finds the live claim and sends nothing.
    backchannel_logout._enqueue(BackchannelDelivery.objects.get().pk)
    run_queued_tasks("logout")
    assert receiver.received == {}
    delivery = BackchannelDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("pending", 1)


def test_a_retry_waiting_for_its_time_is_not_resumed_early(signed_out, receiver):  # noqa: F811
    receiver.routes["/bcl-a"] = (503, {}, b"busy")
    run_queued_tasks("logout")
    assert BackchannelDelivery.objects.get().next_attempt_at > timezone.now()
    assert "Queued 0 back-channel logout(s)." in resume()


def test_a_last_attempt_cut_short_spends_the_budget(signed_out, receiver, settings):  # noqa: F811
    """Five attempts at most, whether they failed or their worker died: the sixth is not made;
    the delivery is given up and audited instead."""
    settings.OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS = 1
    a, _ = signed_out
    killed_mid_attempt(lapsed=True)
    assert "Queued 1 back-channel logout(s)." in resume()
    run_queued_tasks("logout")
    assert receiver.received == {}
    assert BackchannelDelivery.objects.get().state == "failed"
    failed = AuditEvent.objects.get(event_type="backchannel_logout_failed")
    assert failed.client_id == a.client_id and failed.detail["attempts"] == 1
    assert "worker stopped" in failed.detail["error"]


def test_the_one_command_resumes_webhooks_too(signed_out):
    output = resume()
    assert "back-channel logout(s)" in output and "webhook subscription(s)" in output


def test_a_task_queued_by_the_release_before_delivery_rows_is_still_delivered(browser, make_rp, receiver):  # noqa: F811
    """A deploy meets tasks the old code queued (client_pk, sub, sid, issuer, attempt): each gets
    its delivery row, keeping the attempts it had made, and is sent."""
    a, a_secret = make_rp("RP A", "/bcl-a")
    id_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    sign_out(browser, id_token)
    BackchannelDelivery.objects.all().delete()
    DBTaskResult.objects.all().delete()
    sid = verify_id_token(id_token, a)["sid"]
    old_style = {"client_pk": a.pk, "sub": "ignored", "sid": sid, "issuer": "http://testserver", "attempt": 2}
    backchannel_logout.deliver_logout_token.using(queue_name="logout").enqueue(**old_style)
    run_queued_tasks("logout")
    (token,) = logout_tokens(receiver, "/bcl-a")
    assert verify_logout_token(token, a)["sid"] == sid
    delivery = BackchannelDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)


def test_an_unexpected_error_is_a_failed_attempt_not_a_stuck_claim(signed_out, receiver, monkeypatch):  # noqa: F811
    def broken(**kwargs):
        raise RuntimeError("the signing key does not decrypt")

    monkeypatch.setattr(backchannel_logout, "create_logout_token", broken)
    run_queued_tasks("logout")
    delivery = BackchannelDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.claimed_until) == ("pending", 1, None)
    assert delivery.last_error == "Internal error (RuntimeError)." and delivery.next_attempt_at
    assert DBTaskResult.objects.filter(status="READY").count() == 1, "its retry is queued"
