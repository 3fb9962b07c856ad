"""manage.py verify_audit_log: check every event and checkpoint; name the first tampering."""

from django.core.management.base import CommandError

from oauth_console.audit import checkpoints, signals
from oauth_console.audit.commands_log import record_command
from oauth_console.audit.models import EventType, Outcome
from server.management.arguments import BoundedOptionsCommand, WholeNumber


class Command(BoundedOptionsCommand):
    help = (
        "Verify the audit log's hashes and checkpoint chain. Exits 0 when intact, 1 naming the first "
        "altered, inserted or deleted event."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--progress-every",
            type=WholeNumber(1, 1_000_000_000),
            default=100_000,
            help="Report progress every N events (stderr).",
        )

    def handle(self, *args, **options):
        every = options["progress_every"]

        def progress(count: int) -> None:
            self.stderr.write(f"  {count:,} events checked…")

        report = checkpoints.verify(progress=progress, progress_every=every)
        # Recorded after the check, so it never checks its own line.
        record_command(
            EventType.AUDIT_LOG_VERIFIED,
            "verify_audit_log",
            outcome=Outcome.FAILURE if report.problem is not None else Outcome.SUCCESS,
            checked=report.checked,
            sealed=report.sealed,
            intact=report.problem is None,
        )
        if report.problem is not None:
            signals.verification_failed.send_robust(sender=self.__class__, problem=report.problem.message)
            raise CommandError(f"Audit log NOT intact: {report.problem.message}")
        unsealed = report.checked - report.sealed
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit log intact: {report.checked:,} events checked, {report.sealed:,} under checkpoints"
                + (f", {unsealed:,} not yet sealed (run seal_audit_log)." if unsealed else ".")
            )
        )
