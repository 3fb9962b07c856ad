"""The task the worker runs (`manage.py db_worker`, queue "audit"): seal the settled audit events.

Enqueued by the write path (`recorder`) after the commit of every AUDIT_CHECKPOINT_EVERY-th
event, so that a deployment without the `seal_audit_log` cron job still gets checkpoints, and
no request pays for a seal (one that read 10,000 rows cost ~490M instructions, docs/audit.md). A queue
of its own, so that `--queue-name audit` can give seals a worker apart from outbound deliveries,
and its finished tasks can be counted and pruned apart. Seals enqueued twice race harmlessly:
both extend the same link, the unique constraint lets one win.
"""

from django.conf import settings
from django_tasks import task

from oauth_console.audit import checkpoints

QUEUE = "audit"


@task(queue_name=QUEUE)
def seal_audit_log() -> int:
    """Seal what is settled (`checkpoints.seal`); how many events, for the task's result."""
    return checkpoints.seal()


def seal_queue_needed() -> tuple[str, str] | None:
    """The queue the write path needs (server.E011, `server.checks_tasks.queue_needed`), or None
    when AUDIT_CHECKPOINT_EVERY is 0 and it queues nothing."""
    if not getattr(settings, "AUDIT_CHECKPOINT_EVERY", 0):
        return None
    return QUEUE, "the audit log's periodic seal (AUDIT_CHECKPOINT_EVERY) could not be queued"
