"""The task the worker runs (`manage.py db_worker`, queue "webhooks"): deliver a subscription's
pending messages, oldest first. Enqueued in the transaction that writes a delivery (the
outbox), and again, with `run_after`, when an attempt failed and must be retried."""

from django_tasks import task

from oauth_console.webhooks import delivery

QUEUE = "webhooks"


@task(queue_name=QUEUE)
def deliver_webhooks(subscription_id: int) -> str:
    """Deliver what `subscription_id` has due, in order; a summary for the task's result."""
    return delivery.deliver_pending(subscription_id)


def delivery_queue_needed() -> tuple[str, str]:
    """The queue the outbox needs (server.E011, `server.checks_tasks.queue_needed`). Always, unlike
    the audit seal's: whether any subscription exists is a fact of the database, not of the
    configuration, and operators add subscriptions at run time (console, API), so a backend
    without the queue would pass the check at deploy time and fail the first delivery later."""
    return QUEUE, "webhook deliveries could not be queued"
