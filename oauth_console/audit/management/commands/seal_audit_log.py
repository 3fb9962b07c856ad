"""manage.py seal_audit_log: cover settled events with checkpoints (run it from cron)."""

from django.core.management.base import BaseCommand, CommandError

from oauth_console.audit import checkpoints, partitions
from oauth_console.audit.commands_log import record_command
from oauth_console.audit.models import EventType, Outcome


class Command(BaseCommand):
    help = (
        "Write checkpoints over audit events older than AUDIT_CHECKPOINT_DELAY seconds; on "
        "PostgreSQL also create the audit table's partitions for this month and the next three."
    )

    def handle(self, *args, **options):
        # This job runs every minute: the one place that keeps next months' partitions ready
        # (a catalog query when they exist). Events that arrive without one land in the default.
        for name in partitions.ensure_ahead():
            self.stdout.write(f"Created partition {name}.")
        refused: list[str] = []
        try:
            count = checkpoints.seal(refused=refused)
        except ValueError as exc:  # the legacy record was altered: nothing is sealed
            record_command(EventType.AUDIT_LOG_SEALED, "seal_audit_log", outcome=Outcome.FAILURE, sealed=0)
            raise CommandError(f"Nothing sealed: {exc}") from None
        record_command(
            EventType.AUDIT_LOG_SEALED,
            "seal_audit_log",
            outcome=Outcome.FAILURE if refused else Outcome.SUCCESS,
            sealed=count,
            refused=len(refused),
        )
        self.stdout.write(f"Sealed {count:,} events.")
        if refused:
            # Exit 1, so that cron reports it: a row that cannot be sealed is a copy or a forgery.
            raise CommandError(
                "Refused to seal (run verify_audit_log, and compare with the SIEM's copy):\n"
                + "\n".join(refused)
            )
