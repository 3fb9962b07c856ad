"""Bad receivers and faults (issue 15): a receiver that times out, answers 500, redirects or
resolves to a private address is retried or refused, never inside a request; deliveries go in
order per subscription, back off, dead-letter after OAUTH2_WEBHOOK_MAX_ATTEMPTS, and a worker
killed mid-delivery leaves the delivery to be made again."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from oauth_console.audit.models import AuditEvent
from oauth_console.webhooks import delivery as worker
from oauth_console.webhooks import outbox
from oauth_console.webhooks.models import Delivery
from server import services
from server.actors import Actor
from tests.task_queue import run_queued_tasks

# The worker (db_worker) closes a connection that is inside a transaction, as a test's is:
# these tests run it for real, on committed rows (PostgreSQL would lose the test's connection).
pytestmark = pytest.mark.django_db(transaction=True)

OPERATOR = Actor.system("tests")


def _client(name="Billing"):
    client, _ = services.create_client(name=name, actor=OPERATOR, redirect_uris=["https://b.example/cb"])
    return client


def _disable(client):
    services.set_client_status(client, "disabled", actor=OPERATOR, reason="tests")


def test_a_500_is_retried_later_with_exponential_backoff(receiver, subscribe, settings):
    settings.OAUTH2_WEBHOOK_RETRY_DELAY = 30
    receiver.answers = [(500, {}, 0)]
    subscription, _ = subscribe(receiver.url())
    _client()

    run_queued_tasks()
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert "answered 500" in delivery.last_error
    first_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=29) < first_wait <= timedelta(seconds=31)
    # The retry is a task of its own, due then, not before.
    retry_task = DBTaskResult.objects.filter(status="READY").get()
    assert retry_task.run_after == delivery.next_attempt_at
    run_queued_tasks()
    assert len(receiver.received) == 1

    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        run_queued_tasks()
    delivery.refresh_from_db()
    assert (delivery.attempts, len(receiver.received)) == (2, 2)
    second_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=59) < second_wait <= timedelta(seconds=61)


def test_the_retry_delay_doubles_up_to_its_cap(settings):
    settings.OAUTH2_WEBHOOK_RETRY_DELAY = 10
    settings.OAUTH2_WEBHOOK_MAX_RETRY_DELAY = 100
    delays = [worker.retry_delay(n).total_seconds() for n in range(1, 7)]
    assert delays == [10, 20, 40, 80, 100, 100]


def test_after_the_last_attempt_a_delivery_is_dead_lettered_and_the_line_moves_on(
    receiver, subscribe, settings
):
    settings.OAUTH2_WEBHOOK_RETRY_DELAY = 0
    settings.OAUTH2_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.answers = [(503, {}, 0), (503, {}, 0), (500, {}, 0), (204, {}, 0)]
    subscription, _ = subscribe(receiver.url())
    client = _client()
    _disable(client)

    run_queued_tasks()

    first, second = Delivery.objects.filter(subscription=subscription).order_by("pk")
    assert (first.state, first.attempts, first.last_status_code) == ("dead", 3, 500)
    assert (second.state, second.attempts) == ("delivered", 1)
    types = [r.body.decode() for r in receiver.received]
    assert [("client_created" in t, "client_status_changed" in t) for t in types] == [
        (True, False),
        (True, False),
        (True, False),
        (False, True),
    ]
    event = AuditEvent.objects.get(event_type="webhook_delivery_dead_lettered")
    assert event.outcome == "failure"
    assert event.detail["message_id"] == first.message_id
    assert (event.detail["last_status_code"], event.detail["attempts"]) == (500, 3)
    assert "answered 500" in event.detail["last_error"]
    assert event.actor_label == "system:webhooks"


def test_a_failing_delivery_holds_back_the_later_ones_of_its_subscription_only(receiver, subscribe, settings):
    receiver.answers = [(503, {}, 0)]
    failing, _ = subscribe(receiver.url("/down"))
    client = _client()
    _disable(client)

    run_queued_tasks()

    head, behind = Delivery.objects.filter(subscription=failing).order_by("pk")
    assert (head.attempts, behind.attempts) == (1, 0)  # in order: the second waits for the first
    assert [r.path for r in receiver.received] == ["/down"]


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(receiver, subscribe, settings):
    settings.OAUTH2_WEBHOOK_TIMEOUT = 1
    receiver.answers = [(204, {}, 3)]
    subscription, _ = subscribe(receiver.url(), event_types=["client_created"])
    _client()

    started = timezone.now()
    run_queued_tasks()

    delivery = Delivery.objects.get(subscription=subscription)
    assert delivery.state == "pending" and delivery.attempts == 1
    assert "did not answer in time" in delivery.last_error
    assert delivery.last_status_code is None
    assert timezone.now() - started < timedelta(seconds=3)


def test_a_redirect_is_not_followed(receiver, subscribe):
    receiver.answers = [(302, {"Location": "https://169.254.169.254/latest/meta-data/"}, 0)]
    subscription, _ = subscribe(receiver.url(), event_types=["client_created"])
    _client()

    run_queued_tasks()

    delivery = Delivery.objects.get(subscription=subscription)
    assert delivery.state == "pending"
    assert "redirect" in delivery.last_error
    assert len(receiver.received) == 1


def test_an_endpoint_that_resolves_to_a_private_address_is_refused(receiver, subscribe, settings):
    subscription, _ = subscribe(receiver.url(), event_types=["client_created"])
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = []  # production: loopback is not reachable
    _client()

    run_queued_tasks()

    delivery = Delivery.objects.get(subscription=subscription)
    assert "private, loopback" in delivery.last_error
    assert receiver.received == []


def test_a_plain_http_endpoint_stored_around_the_policy_is_refused_at_delivery(receiver, subscribe):
    subscription, _ = subscribe(receiver.url(), event_types=["client_created"])
    type(subscription).objects.filter(pk=subscription.pk).update(url=receiver.url().replace("https", "http"))
    _client()

    run_queued_tasks()

    assert "Only https://" in Delivery.objects.get(subscription=subscription).last_error
    assert receiver.received == []


def test_a_worker_killed_mid_delivery_leaves_it_to_be_delivered_again(receiver, subscribe):
    subscription, _ = subscribe(receiver.url(), event_types=["client_created"])
    _client()
    # The worker claimed the delivery (and the claim committed), then died before the answer.
    claimed = worker._claim_head(subscription.pk)
    assert claimed is not None and claimed.attempts == 1
    DBTaskResult.objects.all().delete()  # its task is gone with it

    # While the claim holds, nobody else sends it (no second concurrent attempt) ...
    outbox.enqueue(subscription.pk)
    run_queued_tasks()
    assert receiver.received == []

    # ... once it lapses, the next task of the subscription (or resume_webhook_deliveries) does.
    with time_machine.travel(claimed.claimed_until + timedelta(seconds=1)):
        assert worker.resume_stalled() == 1
        run_queued_tasks()

    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.state, delivery.attempts) == ("delivered", 2)
    assert receiver.received[0].headers["webhook-id"] == delivery.message_id


def test_a_paused_subscription_keeps_its_deliveries_until_it_is_enabled_again(receiver, subscribe):
    from oauth_console.webhooks import services as webhooks

    subscription, _ = subscribe(receiver.url(), event_types=["client_created", "client_status_changed"])
    client = _client()
    webhooks.update_subscription(subscription, actor=OPERATOR, is_active=False)
    _disable(client)  # not written: the subscription is paused
    run_queued_tasks()
    assert receiver.received == []

    webhooks.update_subscription(subscription, actor=OPERATOR, is_active=True)
    run_queued_tasks()

    assert len(receiver.received) == 1
    assert Delivery.objects.get(subscription=subscription).state == "delivered"


def test_resume_webhook_deliveries_queues_only_unclaimed_due_deliveries(subscribe):
    import io

    from django.core.management import call_command

    due, _ = subscribe("https://a.example.com/", event_types=["client_created"])
    held, _ = subscribe("https://b.example.com/", event_types=["client_created"])
    _client()
    assert worker._claim_head(held.pk) is not None  # a live claim: its worker is on it
    DBTaskResult.objects.all().delete()

    out = io.StringIO()
    call_command("resume_webhook_deliveries", stdout=out)

    assert "1 webhook subscription" in out.getvalue()
    assert [t.args_kwargs["args"] for t in DBTaskResult.objects.all()] == [[due.pk]]


def test_each_attempt_is_counted_by_outcome(receiver, subscribe, settings):
    from oauth_console.metrics import registry

    def count(outcome):
        return registry.WEBHOOK_DELIVERIES.labels(outcome=outcome)._value.get()

    settings.OAUTH2_WEBHOOK_RETRY_DELAY = 0
    settings.OAUTH2_WEBHOOK_MAX_ATTEMPTS = 2
    receiver.answers = [(500, {}, 0), (500, {}, 0), (200, {}, 0)]
    before = {outcome: count(outcome) for outcome in ("delivered", "failed", "dead_lettered")}
    subscribe(receiver.url())
    _disable(_client())

    run_queued_tasks()

    after = {outcome: count(outcome) - before[outcome] for outcome in before}
    assert after == {"delivered": 1, "failed": 1, "dead_lettered": 1}
