"""Work the task worker delivers at least once, and how to pick it up again after a worker died.

django-tasks-db does not run a task again whose worker was killed: the task stays "running".
Work that must not be lost therefore keeps its own state in rows of its own, claimed for a lease
by each attempt (back-channel logouts: `services.backchannel_logout`; webhook deliveries:
`oauth_console.webhooks.delivery`). Each kind registers here, from its app's `ready()`, the
function that queues again what is due and held by no live claim, and returns how many it
queued; `manage.py resume_deliveries` (cron, every few minutes) runs them all. The server knows
no kind of the console's (it never imports `oauth_console`): the console registers its own.
"""

from collections.abc import Callable

_KINDS: dict[str, Callable[[], int]] = {}


def register(kind: str, resume: Callable[[], int]) -> None:
    """Register `resume` (queues the stalled work of `kind`, returns how many it queued)."""
    _KINDS[kind] = resume


def resume_all() -> dict[str, int]:
    """Run every registered kind's resume; {kind: how many were queued}."""
    return {kind: resume() for kind, resume in _KINDS.items()}
