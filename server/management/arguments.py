"""Parsing of the management commands' arguments into the values the services take.

Kept apart from the commands so that each command stays a few lines around one service call,
and so that the rules (what a grace period or a date may look like) live in one place.
"""

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.core.management.base import CommandError
from django.utils import dateparse, timezone

from server import policies, services

# The longest grace period a rotation may give: a week is usual; beyond a year is a mistake
# (and a number that large would overflow a datetime).
MAX_GRACE = timedelta(days=365)
_GRACE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# ASCII digits ([0-9]: regex \\d takes an Arabic-Indic 7 too, and int() reads it), matched
# whole (fullmatch: `$` also matches before a trailing newline).
_GRACE_PATTERN = re.compile(r"([0-9]{1,9})([smhd])")


def split_values(values: Iterable[str] | str | None) -> list[str]:
    """Split option values given space- or comma-separated, once or repeated, into one list."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    items: list[str] = []
    for value in values:
        items.extend(part for part in re.split(r"[\s,]+", value) if part)
    return list(dict.fromkeys(items))


def looked_up(value: str, what: str, *, max_length: int) -> str:
    """`value` (a client_id, a user name, a kid given on the command line) if a row could hold it;
    else the CommandError a row that does not exist gets. A NUL (PostgreSQL refuses it in a query)
    or a lone surrogate (an argument that is not UTF-8: Python decodes its bytes to surrogates, and
    no database takes one) failed in the lookup with a traceback."""
    if not policies.could_be_identifier(value, max_length=max_length):
        raise CommandError(f"No {what} {value!r}.")
    return value


def parse_grace(value: str) -> timedelta:
    """Turn `immediately`, `24h`, `90m`, `7d`, `30s` ... into a timedelta; CommandError otherwise."""
    text = (value or "").strip().lower()
    if text in services.GRACE_PERIODS:
        return services.GRACE_PERIODS[text]
    if text in {"0", "now", "none"}:
        return timedelta(0)
    match = _GRACE_PATTERN.fullmatch(text)
    if not match:
        raise CommandError(
            f"Invalid grace period {value!r}: use 'immediately' or a number with a unit, "
            "such as 30s, 15m, 24h or 7d."
        )
    grace = timedelta(**{_GRACE_UNITS[match[2]]: int(match[1])})
    if grace > MAX_GRACE:
        raise CommandError(f"The grace period {value!r} is too long: at most {MAX_GRACE.days} days.")
    return grace


def parse_moment(value: str, option: str = "") -> datetime:
    """Turn an ISO date (`2026-01-31`, midnight) or date-time into an aware datetime.

    A value without a UTC offset is read in the server's time zone (settings.TIME_ZONE). `option`
    names the command-line option in the error message.
    """
    text = (value or "").strip()
    try:
        moment = dateparse.parse_datetime(text)
        if moment is None:
            day: date | None = dateparse.parse_date(text)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        moment = None
    if moment is None:
        subject = f"{option} {value!r} is not a date" if option else f"Invalid date {value!r}"
        raise CommandError(
            f"{subject}: use YYYY-MM-DD or an ISO 8601 date-time such as 2026-01-31T12:00:00Z."
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
