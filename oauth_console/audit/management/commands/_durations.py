"""Parsing the command-line values the audit commands share (dates: `server.management.arguments`)."""

from datetime import timedelta

from django.core.management.base import CommandError

from server.oauth2.digits import decimal_value

MAX_AGE_DAYS = 36_500  # a hundred years
# Past a few thousand years the date an age names overflows (a traceback, not a message).
_MAX_AMOUNT = {"d": MAX_AGE_DAYS, "h": MAX_AGE_DAYS * 24}


def parse_age(value: str) -> timedelta:
    """'365d' or '12h' -> timedelta; CommandError for anything else."""
    text = (value or "").strip()
    unit = text[-1:]
    # ASCII digits only, any length (server.oauth2.digits): Arabic-Indic digits and 5000 digits
    # are messages, not a traceback (int() refuses more than 4300 digits).
    amount = decimal_value(text[:-1], ceiling=_MAX_AMOUNT[unit] + 1) if unit in _MAX_AMOUNT else None
    if not amount:
        raise CommandError(
            f"--older-than {value!r} is not understood: give a positive number of days or hours, "
            "like 365d or 12h."
        )
    if amount > _MAX_AMOUNT[unit]:
        raise CommandError(f"--older-than {value!r} is too long: at most {MAX_AGE_DAYS}d.")
    return timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
