"""Parsing the command-line values the audit commands share (dates: `server.management.arguments`)."""

import re
from datetime import timedelta

from django.core.management.base import CommandError

DURATION = re.compile(r"(\d+)([dh])")
MAX_AGE_DAYS = 36_500  # a hundred years


def parse_age(value: str) -> timedelta:
    """'365d' or '12h' -> timedelta; CommandError for anything else."""
    match = DURATION.fullmatch((value or "").strip())
    if not match or int(match.group(1)) == 0:
        raise CommandError(
            f"--older-than {value!r} is not understood: give a positive number of days or hours, "
            "like 365d or 12h."
        )
    amount, unit = int(match.group(1)), match.group(2)
    # Past a few thousand years the date it names overflows (a traceback, not a message).
    if amount > (MAX_AGE_DAYS if unit == "d" else MAX_AGE_DAYS * 24):
        raise CommandError(f"--older-than {value!r} is too long: at most {MAX_AGE_DAYS}d.")
    return timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
