"""Running the task queue's outstanding tasks inside a test, as `manage.py db_worker` would.

Tasks are stored in the test's database by the request that enqueues them (the database backend
of django-tasks, oauth_console/settings/base.py); nothing runs them until a test asks.
"""

from django.core.management import call_command


def run_queued_tasks(queue_name: str = "*") -> None:
    """Run every task that is due now in `queue_name` ("*": every queue), then return."""
    call_command(
        "db_worker", batch=True, queue_name=queue_name, reload=False, startup_delay=False, verbosity=0
    )
