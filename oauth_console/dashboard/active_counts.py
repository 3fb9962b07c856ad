"""Active tokens per client, counted at most once per CONSOLE_DASHBOARD_CACHE_SECONDS and kept.

Counting them reads one heap page per active token: `revoked_at` is in no index, on purpose
(server.0003: revoking stays a heap-only update, and an index that names `revoked_at`, even in
a partial index's WHERE, would make every revocation write every index). At ten million tokens
with 300,000 of them active that is 1.4-3.5 s. So when there are more than
CONSOLE_EXACT_COUNT_LIMIT, the dashboard's top clients and the client list show the last count
and when it was made. The count is kept in the cache AND in the dashboard's `DayTotal` table (one
row per day under the series `SERIES`), so a cache flush or a restart does not make the next
view pay for it: only a view that finds it older than the interval counts again, one grouped
query (`server.selectors.active_tokens_by_client`).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from oauth_console.dashboard.models import DayTotal
from server import selectors

SERIES = "active-tokens-by-client"
CACHE_KEY = "console:dashboard:active-by-client:v1"
# Not a time zone's day: a snapshot is a moment, stored under its UTC date.
TIME_ZONE = "UTC"


@dataclass(frozen=True)
class Snapshot:
    counts: dict[int, int]  # client pk -> its active tokens (clients without any left out)
    as_of: datetime


def interval() -> timedelta:
    return timedelta(seconds=max(settings.CONSOLE_DASHBOARD_CACHE_SECONDS, 0))


def is_due(as_of: datetime, now: datetime) -> bool:
    """True once a count made at `as_of` is older than the interval (always, with no interval)."""
    return now - as_of >= interval()


def stored() -> Snapshot | None:
    """The last count: from the cache, else from the table (one query), else None."""
    if interval() <= timedelta(0):
        return None
    snapshot = cache.get(CACHE_KEY)
    if snapshot is not None:
        return snapshot
    row = DayTotal.objects.filter(series=SERIES, time_zone=TIME_ZONE).order_by("-counted_until").first()
    if row is None:
        return None
    snapshot = Snapshot({int(pk): n for pk, n in row.value.items()}, row.counted_until)
    cache.set(CACHE_KEY, snapshot, 2 * settings.CONSOLE_DASHBOARD_CACHE_SECONDS)
    return snapshot


def count(now: datetime) -> Snapshot:
    """Count now (one grouped query) and keep the result (one upsert), unless nothing is kept."""
    snapshot = Snapshot(selectors.active_tokens_by_client(now), now)
    if interval() > timedelta(0):
        row = DayTotal(
            series=SERIES,
            time_zone=TIME_ZONE,
            day=now.astimezone(UTC).date(),
            value={str(pk): n for pk, n in snapshot.counts.items()},
            counted_until=now,
            computed_at=now,
        )
        DayTotal.objects.bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=["series", "time_zone", "day"],
            update_fields=["value", "counted_until", "computed_at"],
        )
        cache.set(CACHE_KEY, snapshot, 2 * settings.CONSOLE_DASHBOARD_CACHE_SECONDS)
    return snapshot


def current(now: datetime, *, may_count: bool = True) -> Snapshot:
    """The last count if it is recent enough, else a new one.

    A view that has already paid for another expensive read (the dashboard's chart recompute)
    passes `may_count=False`: it shows a count up to twice the interval old rather than pay for
    both; an older one (or none) is counted anyway.
    """
    snapshot = stored()
    if snapshot is None:
        return count(now)
    too_old = now - snapshot.as_of >= 2 * interval()
    if too_old or (may_count and is_due(snapshot.as_of, now)):
        return count(now)
    return snapshot
