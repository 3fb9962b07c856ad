"""Per-day series whose finished days are cached one day per key, so a view reads at most today.

A chart of the last 30 days is 29 days that can no longer change and one that still does. Each
finished day is stored under its own cache key (the date is in the key, so nothing ever has to
be invalidated); on a view, the days that are missing from the cache (normally none, or just
yesterday on the first view of a day) and the days still in progress are computed by ONE call
of the chart's range query, never one query per day.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

V = TypeVar("V")

KEY_PREFIX = "console:dashboard:day:v1"
# A day counts as finished only some minutes after its midnight: a token or audit event stamped
# at 23:59:59 may still be in an open transaction, or in the audit log's write-behind buffer
# (AUDIT_WRITE_DELAY_MS), when the clock passes midnight.
SETTLE = timedelta(minutes=5)
# Long enough to outlive the chart's window; a stale key is never read (its date is in it).
KEEP = timedelta(days=32)


def day_key(name: str, day: date) -> str:
    """The cache key of one finished day of the series `name` (the time zone is part of it,
    because a day's bounds depend on it)."""
    return f"{KEY_PREFIX}:{name}:{timezone.get_current_timezone_name()}:{day.isoformat()}"


def finished(day: date, now: datetime) -> bool:
    """True once `day` is over (plus SETTLE) in the current time zone, so its numbers are final."""
    next_midnight = timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()))
    return now >= next_midnight + SETTLE


def daily_series(
    name: str,
    days: list[date],
    now: datetime,
    compute: Callable[[date, date], dict[date, V]],
    empty: Callable[[], V],
) -> dict[date, V]:
    """{day: value} for each of `days` (consecutive, oldest first).

    `compute(first, last)` must return the values of every day from `first` to `last` inclusive
    in one query (days it leaves out are `empty()`). Finished days come from the cache where
    present; the rest is one `compute` call from the oldest missing day to the newest day.
    With CONSOLE_DASHBOARD_CACHE_SECONDS <= 0 nothing is cached.
    """
    use_cache = settings.CONSOLE_DASHBOARD_CACHE_SECONDS > 0
    done = [day for day in days if finished(day, now)]
    cached: dict[date, V] = {}
    if use_cache and done:
        keys = {day_key(name, day): day for day in done}
        cached = {keys[key]: value for key, value in cache.get_many(list(keys)).items()}
    to_compute = [day for day in days if day not in cached]
    values = dict(cached)
    if to_compute:
        # One range from the oldest missing day to the newest: a cached day inside it is read
        # again, which is cheaper than a second query.
        first, last = to_compute[0], to_compute[-1]
        computed = compute(first, last)
        fresh = {day: computed.get(day, empty()) for day in days if first <= day <= last}
        values.update(fresh)
        if use_cache:
            newly_done = {day_key(name, day): value for day, value in fresh.items() if finished(day, now)}
            if newly_done:
                cache.set_many(newly_done, int(KEEP.total_seconds()))
    return {day: values[day] for day in days}
