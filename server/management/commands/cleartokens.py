"""`manage.py cleartokens`: delete expired tokens and codes in batches (run it from cron)."""

from django.core.management.base import CommandParser

from server import selectors, services
from server.management.arguments import BoundedOptionsCommand, WholeNumber

# A batch is a LIMIT: past a 32-bit integer the database refuses it (a traceback).
BATCH_SIZE = WholeNumber(1, 2**31 - 1)


class Command(BoundedOptionsCommand):
    help = (
        "Delete tokens whose access and refresh tokens have both expired, and expired authorization "
        "codes. Works in batches, each its own short transaction, so the server keeps serving; "
        "walks the tokens by key and resumes where an interrupted run stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=BATCH_SIZE,
            default=10_000,
            help="Tokens deleted per transaction (default 10000).",
        )
        parser.add_argument(
            "--from-start",
            action="store_true",
            help="Ignore where an interrupted run stopped and walk the whole table again.",
        )

    def handle(self, *args, **options) -> None:
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
