"""`manage.py cleartokens`: delete expired tokens and codes in batches (run it from cron)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from server import selectors, services


def positive_int(value: str) -> int:
    """argparse type: a whole number from 1 to 2**31 - 1."""
    number = int(value)
    # A batch is a LIMIT: past a 32-bit integer the database refuses it (a traceback).
    if not 1 <= number <= 2**31 - 1:
        raise ValueError(value)
    return number


positive_int.__name__ = "positive whole number"  # what argparse names in its error message


class Command(BaseCommand):
    help = (
        "Delete tokens whose access and refresh tokens have both expired, and expired authorization "
        "codes. Works in batches, each its own short transaction, so the server keeps serving; "
        "walks the tokens by key and resumes where an interrupted run stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=10_000,
            help="Tokens deleted per transaction (default 10000).",
        )
        parser.add_argument(
            "--from-start",
            action="store_true",
            help="Ignore where an interrupted run stopped and walk the whole table again.",
        )

    def handle(self, *args, **options) -> None:
        # call_command(batch_size=...) bypasses argparse's type check.
        if not isinstance(options["batch_size"], int) or options["batch_size"] < 1:
            raise CommandError("--batch-size must be a whole number of at least 1.")
        resume_after = selectors.cleartokens_resume_key()
        if resume_after and not options["from_start"]:
            self.stdout.write(f"  resuming after token #{resume_after} (where the last run stopped)")

        def progress(deleted_so_far: int, last_key: int) -> None:
            self.stdout.write(
                f"  deleted {deleted_so_far} expired token(s) so far (through token #{last_key})"
            )

        total = services.clear_expired_tokens(
            batch_size=options["batch_size"], progress=progress, from_start=options["from_start"]
        )
        self.stdout.write(self.style.SUCCESS(f"Deleted {total} expired token(s)."))
