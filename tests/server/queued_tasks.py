"""A task for tests/server/test_task_queue.py (tasks must be importable by their module path)."""

from django.core.cache import cache
from django_tasks import task


@task(queue_name="default")
def remember(key: str, value: str) -> str:
    cache.set(key, value, 60)
    return value
