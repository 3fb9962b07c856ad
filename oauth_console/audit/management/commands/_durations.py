"""Parsing the command-line values the audit commands share (dates: `server.management.arguments`)."""

import re
from datetime import timedelta

from django.core.management.base import CommandError

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
