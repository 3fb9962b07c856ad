"""Parsing the command-line values the audit commands share."""

import re
from datetime import UTC, datetime, time, timedelta

from django.core.management.base import CommandError
from django.utils.dateparse import parse_date, parse_datetime

DURATION = re.compile(r"(\d+)([dh])")


def parse_age(value: str) -> timedelta:
    """'365d' or '12h' -> timedelta; CommandError for anything else."""
    match = DURATION.fullmatch((value or "").strip())
    if not match or int(match.group(1)) == 0:
        raise CommandError(
            f"--older-than {value!r} is not understood: give a positive number of days or hours, "
            "like 365d or 12h."
        )
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(days=amount) if unit == "d" else timedelta(hours=amount)


def parse_moment(value: str, option: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC unless it says otherwise)."""
    text = (value or "").strip()
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(
            f"{option} {value!r} is not a date: use 2025-01-31 or 2025-01-31T12:00:00Z (ISO 8601)."
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
