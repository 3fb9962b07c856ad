"""Parsing of the management commands' arguments into the values the services take.

Kept apart from the commands so that each command stays a few lines around one service call,
and so that the rules (what a grace period, a date or a size may look like) live in one place.

Every numeric option is bounded: `type=WholeNumber(low, high)` or `type=Fraction()` on a
`BoundedOptionsCommand`, never a bare `type=int` (tests/security/test_command_sizes.py walks every
command). A number past any sensible size ran for ever (`seed_tokens --count 10**23`) or died in
a traceback (`--days 10**23`: OverflowError in timedelta).
"""

import argparse
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import dateparse, timezone

from server import policies, services
from server.oauth2.digits import is_ascii_decimal, whole_number

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


# A value shown in a message: short, and a NUL or a line break printed as an escape.
def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class WholeNumber:
    """argparse `type` of a numeric size: ASCII digits (server.oauth2.digits) from `minimum` to
    `maximum`; anything else is the option's error, stating the bounds. Called again by
    BoundedOptionsCommand on a value call_command passed as a keyword (argparse never sees it)."""

    def __init__(self, minimum: int, maximum: int) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.bounds = f"a whole number from {minimum:,} to {maximum:,}"

    def __call__(self, value: object) -> int:
        if isinstance(value, str):
            number = whole_number(value, minimum=self.minimum, maximum=self.maximum)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value if self.minimum <= value <= self.maximum else None
        else:
            number = None
        if number is None:
            raise argparse.ArgumentTypeError(f"must be {self.bounds}, not {_shown(value)}.")
        return number


class Fraction:
    """argparse `type` of a share: a number from 0 to 1 in ASCII decimal digits with at most one
    point ("0.5", ".02", "1"); no sign, exponent, nan or inf."""

    bounds = "a number from 0 to 1, such as 0.5"

    def __call__(self, value: object) -> float:
        if isinstance(value, str):
            whole, point, decimals = value.partition(".")
            written = (whole or decimals) and len(value) <= 20
            digits = (not whole or is_ascii_decimal(whole)) and (not point or is_ascii_decimal(decimals))
            number = float(value) if written and digits else None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = value  # compared before float(): float(10**400) raises OverflowError
        else:
            number = None
        if number is None or not 0 <= number <= 1:  # (nan is neither)
            raise argparse.ArgumentTypeError(f"must be {self.bounds}, not {_shown(value)}.")
        return float(number)


class BoundedOptionsCommand(BaseCommand):
    """A command whose WholeNumber / Fraction options are checked however it is called: argparse
    checks what a command line (or call_command's positional strings) gives; call_command's
    keywords skip argparse, and are checked here before `handle` runs."""

    def execute(self, *args, **options):
        parser = self.create_parser("manage.py", self.__module__.rsplit(".", 1)[-1])
        for action in parser._actions:
            value = options.get(action.dest)
            if value is None or not isinstance(action.type, WholeNumber | Fraction):
                continue
            try:
                options[action.dest] = action.type(value)
            except argparse.ArgumentTypeError as refused:
                option = max(action.option_strings, key=len, default=action.dest)
                raise CommandError(f"{option} {refused}") from None
        return super().execute(*args, **options)
