"""Per-day series counted once and kept (`DayTotal`), so a view counts at most the last hour.

A chart of the last 30 days is 29 days that can no longer change and one that still does. Each
finished day is counted once, by the first view that needs it, and kept in the `DayTotal`
table: a view reads the days with one small indexed query. Today is kept the same way up to
its last finished hour, and a view counts only what happened since (a range scan of at most
an hour or so) and adds it: the numbers are those of one count over the whole day, for the
price of an hour's. Days missing from the table (normally none; yesterday on the first view of
a day; all of them on the first view after installing) are counted with ONE call of the
chart's range query, never one per day. Unlike a cache, the table survives a cache flush and a
restart, and every worker shares it.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone

from oauth_console.dashboard.models import DayTotal

V = TypeVar("V")

# What happened up to some minutes ago counts as final: a token or audit event stamped at
# 23:59:59 may still be in an open transaction, or in the audit log's write-behind buffer
# (AUDIT_WRITE_DELAY_MS), when the clock passes midnight. A day is finished SETTLE after its
# midnight; today's stored part ends at the last full hour at least SETTLE ago.
SETTLE = timedelta(minutes=5)
STEP = timedelta(hours=1)


def day_start(day: date) -> datetime:
    """Midnight starting `day` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def finished(day: date, now: datetime) -> bool:
    """True once `day` is over (plus SETTLE) in the current time zone, so its numbers are final."""
    return now >= day_start(day + timedelta(days=1)) + SETTLE


def settled_until(now: datetime) -> datetime:
    """The last whole hour (UTC) at least SETTLE before `now`: what happened before it is final."""
    return (now - SETTLE).astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def add(a: Any, b: Any) -> Any:
    """The sum of two values of a series: numbers, or mappings of names to numbers."""
    if isinstance(a, dict):
        return {key: a.get(key, 0) + b.get(key, 0) for key in {**a, **b}}
    return a + b


class DayHistory:
    """The stored days of a view's series: read with one query, the new ones written with one.

    Name every series the view will ask for up front (`names`), ask for each with `series`,
    then `save`.
    """

    def __init__(self, names: list[str], days: list[date], now: datetime):
        self.days, self.now = days, now
        self.keep = settings.CONSOLE_DASHBOARD_CACHE_SECONDS > 0
        self.time_zone = timezone.get_current_timezone_name()
        self.rows: dict[tuple[str, date], tuple[Any, datetime]] = {}
        if self.keep:
            self.rows = {
                (series, day): (value, until)
                for series, day, value, until in DayTotal.objects.filter(
                    series__in=names, time_zone=self.time_zone, day__gte=days[0], day__lte=days[-1]
                ).values_list("series", "day", "value", "counted_until")
            }
        self.unsaved: dict[tuple[str, date], tuple[Any, datetime]] = {}

    def series(
        self, name: str, compute: Callable[..., dict[date, V]], empty: Callable[[], V]
    ) -> dict[date, V]:
        """{day: value} for each of the days (consecutive, oldest first, the last one today).

        `compute(first, last, since=None, until=None)` must return the values of every day from
        `first` to `last` inclusive, counting only what happened in [`since`, `until`) where
        given, in one query (days it leaves out are `empty()`). Values must survive a JSON round
        trip and add up (`add`): numbers, or mappings of strings to numbers. `name` identifies
        the series in the table: give a series a new name when what it counts changes. With
        CONSOLE_DASHBOARD_CACHE_SECONDS <= 0 nothing is stored or read back: every day is
        counted on every view.
        """
        days, now = self.days, self.now
        values = {}
        for day in days:
            value, until = self.rows.get((name, day), (None, None))
            if until is not None and finished(day, now) and until >= day_start(day + timedelta(days=1)):
                values[day] = value
        to_count = [day for day in days if day not in values]
        today = days[-1]
        if to_count == [today] and not finished(today, now):
            values[today] = self._today(name, compute, empty)
        elif to_count:
            # One range from the oldest missing day to today: a stored day inside it is counted
            # again, which is cheaper than a second query, but what was stored is what is shown.
            first, last = to_count[0], to_count[-1]
            counted = compute(first, last)
            for day in to_count:
                values[day] = counted.get(day, empty())
                if finished(day, now):
                    self.unsaved[name, day] = (values[day], day_start(day + timedelta(days=1)))
        return {day: values[day] for day in days}

    def _today(self, name, compute, empty):
        """Today's value: the stored part (moved on to the last settled hour when an hour or more
        behind: one more query, once an hour), plus a count of what came after it."""
        today = self.days[-1]
        value, counted_until = self.rows.get((name, today), (empty(), day_start(today)))
        settled = settled_until(self.now)
        if self.keep and settled - counted_until >= STEP:
            more = compute(today, today, since=counted_until, until=settled).get(today, empty())
            value, counted_until = add(value, more), settled
            self.unsaved[name, today] = (value, counted_until)
        return add(value, compute(today, today, since=counted_until).get(today, empty()))

    def save(self) -> None:
        """Insert or replace the rows counted since the last save, in one statement. Two views
        storing the same day at once store the same numbers; either write may win."""
        if not (self.keep and self.unsaved):
            return
        DayTotal.objects.bulk_create(
            [
                DayTotal(series=name, time_zone=self.time_zone, day=day, value=value, counted_until=until)
                for (name, day), (value, until) in self.unsaved.items()
            ],
            update_conflicts=True,
            unique_fields=["series", "time_zone", "day"],
            update_fields=["value", "counted_until", "computed_at"],
        )
        self.rows.update(self.unsaved)
        self.unsaved = {}


def daily_series(
    name: str,
    days: list[date],
    now: datetime,
    compute: Callable[..., dict[date, V]],
    empty: Callable[[], V],
) -> dict[date, V]:
    """One series on its own (`DayHistory.series`, then saved): one read, at most one write."""
    history = DayHistory([name], days, now)
    values = history.series(name, compute, empty)
    history.save()
    return values
