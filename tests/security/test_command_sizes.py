"""Every numeric option of every management command of ours is bounded, on the command line and
through call_command: a number past its bounds (`seed_tokens --count 100000000000000000000000`
ran for ever, `--days` of that size was an OverflowError traceback), or one that is no number of
ASCII digits, is a CommandError naming the option and its bounds, and nothing is written.

call_command(name, count=...) hands a keyword past argparse's `type`, so the bound is checked a
second time when the command runs (`server.management.arguments.BoundedOptionsCommand`)."""

import io
from argparse import Action

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command, get_commands, load_command_class

from oauth_console.audit.models import AuditEvent
from server.models import Client, Token

pytestmark = pytest.mark.django_db

HUGE = "100000000000000000000000"
# (command, option, other arguments the command needs)
NUMERIC_OPTIONS = [
    ("cleartokens", "--batch-size", []),
    ("export_audit_log", "--progress-every", []),
    ("prune_audit_log", "--batch-size", ["--older-than", "365d"]),
    ("seed_tokens", "--batch-size", []),
    ("seed_tokens", "--clients", []),
    ("seed_tokens", "--count", []),
    ("seed_tokens", "--days", []),
    ("seed_tokens", "--first-client-share", []),
    ("seed_tokens", "--long-lived-share", []),
    ("seed_tokens", "--seed", []),
    ("seed_tokens", "--users", []),
    ("verify_audit_log", "--progress-every", []),
]
NOT_NUMBERS = ["\u00b2", "\u0663", "1e3", "0x10", " 7", "nan", "inf", "", "\x00"]
NOT_FRACTIONS = ["2", "-0.5", "1e-1", "nan", "inf", "1e400", "0.\u0665", "..5", "."]


def our_commands() -> dict[str, str]:
    """name -> app of the management commands of this project's apps."""
    return {
        name: app
        for name, app in get_commands().items()
        if app == "server" or app.startswith("oauth_console")
    }


def numeric_actions(name: str) -> list[Action]:
    command = load_command_class(our_commands()[name], name)
    parser = command.create_parser("manage.py", name)
    # An option with choices (Django's --verbosity) is bounded by them.
    return [
        action
        for action in parser._actions
        if (action.type in (int, float) and not action.choices) or _bounded(action)
    ]


def _bounded(action: Action) -> bool:
    """A type with stated bounds (server.management.arguments: WholeNumber, Fraction)."""
    return action.type not in (int, float) and isinstance(getattr(action.type, "bounds", None), str)


def option_dest(name: str, option: str) -> str:
    return next(action.dest for action in numeric_actions(name) if option in action.option_strings)


@pytest.fixture
def rows():
    """The counts of every table a command could write, before and after."""

    def counts():
        return (
            Client.objects.count(),
            Token.objects.count(),
            get_user_model().objects.count(),
            AuditEvent.objects.count(),
        )

    return counts


def test_every_numeric_option_of_every_command_is_bounded():
    found = sorted(
        (name, max(action.option_strings, key=len))
        for name in our_commands()
        for action in numeric_actions(name)
    )
    assert found == [(name, option) for name, option, _ in NUMERIC_OPTIONS]
    raw = [
        (name, action.option_strings)
        for name in our_commands()
        for action in numeric_actions(name)
        if not _bounded(action)
    ]
    assert raw == [], "a bare type=int / type=float has no bounds: use WholeNumber or Fraction"


def _refused(message: str, option: str) -> None:
    assert option in message, message
    assert "must be" in message, message


@pytest.mark.timeout(30)  # before the bounds, --count and --clients of that size ran for ever
@pytest.mark.parametrize(
    "name, option, other", NUMERIC_OPTIONS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_huge_number_is_a_command_error_on_the_command_line_and_as_a_keyword(rows, name, option, other):
    before = rows()
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    with pytest.raises(CommandError) as parsed:
        call_command(name, *other, f"{option}={HUGE}", **quiet)
    _refused(str(parsed.value), option)
    with pytest.raises(CommandError) as passed:
        call_command(name, *other, **{option_dest(name, option): int(HUGE)}, **quiet)
    _refused(str(passed.value), option)
    assert rows() == before


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "name, option, other", NUMERIC_OPTIONS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_what_is_no_number_or_below_the_bounds_is_a_command_error(rows, name, option, other):
    before = rows()
    fraction = option.endswith("-share")
    values = [*NOT_NUMBERS, *(NOT_FRACTIONS if fraction else ["-5", "1.5", "7.0", "+7"])]
    for value in values:
        with pytest.raises(CommandError) as refused:
            call_command(name, *other, f"{option}={value}", stdout=io.StringIO(), stderr=io.StringIO())
        _refused(str(refused.value), option)
    for value in (
        [-1, 2.5, True, float("nan"), "\u0663"]
        if not fraction
        else [-0.1, 1.5, float("nan"), 10**400, True, "2"]
    ):
        with pytest.raises(CommandError) as refused:
            call_command(name, *other, **{option_dest(name, option): value}, stdout=io.StringIO())
        _refused(str(refused.value), option)
    assert rows() == before


def test_the_bounds_are_stated_in_the_message():
    with pytest.raises(CommandError, match=r"--count.*whole number from 0 to 100,000,000"):
        call_command("seed_tokens", f"--count={HUGE}")
    with pytest.raises(CommandError, match=r"--first-client-share.*number from 0 to 1"):
        call_command("seed_tokens", "--first-client-share=2")


@pytest.mark.timeout(30)
def test_from_a_shell_a_huge_size_is_a_usage_error_not_a_traceback(rows, capsys):
    """`manage.py seed_tokens --days 1000...` was an OverflowError traceback (timedelta)."""
    before = rows()
    command = load_command_class("oauth_console.tokens", "seed_tokens")
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", "seed_tokens", "--count", "1", "--days", HUGE])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "OverflowError" not in err
    assert "--days" in err and "must be a whole number from 1 to 3,650" in err
    assert rows() == before


def test_values_within_the_bounds_still_run(rows):
    out = io.StringIO()
    call_command(
        "seed_tokens",
        "--count=3",
        "--clients=1",
        "--users=1",
        "--days=1",
        "--seed=7",
        "--first-client-share=.5",
        "--long-lived-share=0",
        "--batch-size=2",
        stdout=out,
    )
    assert Token.objects.count() == 3
    call_command("seed_tokens", count=2, clients=1, users=0, first_client_share=1, stdout=out)
    assert Token.objects.count() == 5
    call_command("cleartokens", batch_size=2**31 - 1, stdout=out)
    call_command("verify_audit_log", "--progress-every=1", stdout=out, stderr=io.StringIO())
