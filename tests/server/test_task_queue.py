"""The task queue as configured: tasks commit with the request's transaction (an outbox), the
worker runs them, and `make run` starts a worker beside the development server."""

import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.server.queued_tasks import remember
from tests.task_queue import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def test_a_task_enqueued_in_a_rolled_back_transaction_is_never_stored():
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        remember.enqueue("task-queue-test:rolled-back", "x")
        assert DBTaskResult.objects.count() == 1
        raise Abandoned

    assert DBTaskResult.objects.count() == 0
    run_queued_tasks()
    assert cache.get("task-queue-test:rolled-back") is None


def test_the_worker_runs_a_committed_task_once():
    result = remember.enqueue("task-queue-test:committed", "ran")
    assert cache.get("task-queue-test:committed") is None  # not in the request

    run_queued_tasks()
    run_queued_tasks()  # a second pass finds nothing left to run

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "ran"
    assert cache.get("task-queue-test:committed") == "ran"
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL


def test_the_production_backend_stores_tasks_in_the_database():
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def test_make_run_starts_a_worker_for_every_queue_beside_the_server():
    recipe = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    worker = next(line for line in recipe.splitlines() if "db_worker" in line)
    assert "--queue-name '*'" in worker
    assert "runserver" in recipe.split("db_worker", 1)[1]  # started before the server, not after it
