"""The dashboard's one table: the numbers of finished days (and hours), computed once and kept.

A chart of the last 30 days is 29 days that can no longer change and one that still does.
Counting the finished ones again means aggregating a month of tokens and audit events (seconds
at a million tokens and ten million events); reading them back from here is one small indexed
query per chart. Written by `oauth_console.dashboard.history`, and by `active_counts`, which
keeps its last count of active tokens per client here (one row a day under its own series name,
`counted_until` the moment of the count) so that a cache flush does not make a view recount.
"""

from django.db import models
from django.utils import timezone


class DayTotal(models.Model):
    """What one dashboard series counted for one day, in one time zone, up to `counted_until`.

    `value` is whatever the series counts for a day (a number, or a small mapping such as
    tokens per grant type). A day's bounds depend on the time zone, so it is part of the key.
    A finished day's row counts the whole day (`counted_until` is its end); today's counts its
    finished hours, so a view adds only what happened since.
    """

    series = models.CharField(max_length=40)
    time_zone = models.CharField(max_length=64)
    day = models.DateField()
    value = models.JSONField()
    counted_until = models.DateTimeField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Also the index a chart reads its days through (series, time zone, day range); two
            # views that finish the same day at once both try to insert it: the first one wins.
            models.UniqueConstraint(fields=["series", "time_zone", "day"], name="dashboard_day_total_unique"),
        ]
        verbose_name = "dashboard day total"

    def __str__(self) -> str:
        return f"{self.series} {self.day} ({self.time_zone}): {self.value}"
