"""System checks of the work done outside requests: the task queues that back-channel logout,
webhook deliveries and the audit log's periodic seal go through, and the webhooks' delivery
settings (registered with the rest in server/checks.py)."""

from collections.abc import Callable

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from server.conf import server_settings

# Queues that other apps enqueue on, declared from their AppConfig.ready (`queue_needed`): each a
# function answering (queue, what could not be queued without it), or None when, as configured,
# that app queues nothing. The audit log's periodic seal (oauth_console/audit/apps.py) and the
# webhooks' deliveries (oauth_console/webhooks/apps.py) declare theirs: the server reads no
# setting of theirs and imports neither.
_DECLARED: list[Callable[[], tuple[str, str] | None]] = []


def queue_needed(declare: Callable[[], tuple[str, str] | None]) -> None:
    """Have check server.E011 ask `declare` for a queue the task backend must take."""
    if declare not in _DECLARED:
        _DECLARED.append(declare)


def _queues_needed() -> dict[str, str]:
    """{queue: what could not be queued without it}."""
    needed = {server_settings.OAUTH2_LOGOUT_QUEUE: "back-channel logout could not be queued"}
    for declare in _DECLARED:
        declared = declare()
        if declared is not None:
            needed.setdefault(*declared)
    return needed


def check_task_queues(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E011: the task backend does not take a queue the server enqueues on: back-channel
    logout (OAUTH2_LOGOUT_QUEUE), so every logout that should notify a client would fail, or the
    queue another app declared (`queue_needed`: the audit log's periodic seal, "audit", unless
    AUDIT_CHECKPOINT_EVERY is 0; webhook deliveries, "webhooks", whenever that app is installed),
    so that app could not queue its work. The immediate backend
    (django-tasks' default without TASKS) is exempt: tasks run at once there, on its default
    queue (check server.W006)."""
    from django_tasks import task_backends
    from django_tasks.backends.immediate import ImmediateBackend
    from django_tasks.exceptions import InvalidTaskBackendError

    try:
        backend = task_backends["default"]
    except InvalidTaskBackendError as error:
        return [Error(f"The task backend cannot be loaded: {error}", id="server.E011")]
    if isinstance(backend, ImmediateBackend) or not backend.queues:
        return []
    known = ", ".join(sorted(backend.queues))
    return [
        Error(
            f"{queue!r} is not a queue of the task backend ({known}): {consequence}.",
            hint=f"Add {queue!r} to TASKS['default']['QUEUES']"
            + (
                ", or set OAUTH2_LOGOUT_QUEUE to one of them."
                if queue == server_settings.OAUTH2_LOGOUT_QUEUE
                else "."
            ),
            id="server.E011",
        )
        for queue, consequence in _queues_needed().items()
        if queue not in backend.queues
    ]


def check_logout_worker(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.W006 (deploy): with django-tasks' immediate backend (no TASKS configured), the
    calls to other parties (back-channel logout, webhook deliveries) run inside the request that
    caused them, once, without retries."""
    from django_tasks import task_backends
    from django_tasks.backends.immediate import ImmediateBackend
    from django_tasks.exceptions import InvalidTaskBackendError

    try:
        immediate = isinstance(task_backends["default"], ImmediateBackend)
    except InvalidTaskBackendError:
        return []  # server.E011 says so
    if settings.DEBUG or not immediate:
        return []
    return [
        Warning(
            "Tasks run at once in the calling process (django-tasks' immediate backend): a "
            "back-channel logout or a webhook delivery is POSTed inside the request that caused "
            "it, blocking it, once, and never retried; the audit log's periodic seal runs inside a "
            "request too.",
            hint="Configure TASKS with a worker backend (django_tasks_db.DatabaseBackend, queues "
            "default, logout, webhooks and audit) and run `manage.py db_worker` (docs/deployment.md).",
            id="server.W006",
        )
    ]


_WEBHOOK_POSITIVE = (
    "OAUTH2_WEBHOOK_TIMEOUT",
    "OAUTH2_WEBHOOK_MAX_RESPONSE_BYTES",
    "OAUTH2_WEBHOOK_MAX_ATTEMPTS",
    "OAUTH2_WEBHOOK_MAX_RETRY_DELAY",
)
_WEBHOOK_NOT_NEGATIVE = ("OAUTH2_WEBHOOK_RETRY_DELAY", "OAUTH2_WEBHOOK_SECRET_OVERLAP")


def check_webhook_settings(app_configs=None, **kwargs) -> list[CheckMessage]:
    """server.E013: a webhook setting that would never deliver (no attempt, no time to answer)
    or never wait (a negative delay)."""
    messages = []
    for name in (*_WEBHOOK_POSITIVE, *_WEBHOOK_NOT_NEGATIVE):
        value = getattr(server_settings, name)
        low = 1 if name in _WEBHOOK_POSITIVE else 0
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            messages.append(
                Error(
                    f"{name} is {value!r}; it must be a number of at least {low}.",
                    hint="Leave it unset for the default (docs/deployment.md, Settings).",
                    id="server.E013",
                )
            )
    return messages
