"""manage.py prune_audit_log --older-than 365d: retention, keeping the rest verifiable."""

from oauth_console.audit import partitions, retention
from oauth_console.audit.commands_log import record_command
from oauth_console.audit.management.commands._durations import parse_age
from oauth_console.audit.models import EventType
from server.management.arguments import BoundedOptionsCommand, WholeNumber


class Command(BoundedOptionsCommand):
    help = (
        "Delete audit events older than the given age (365d, 12h), whole checkpoints at a time, and "
        "leave a prune record so verify_audit_log still passes. On PostgreSQL whole expired months "
        "are dropped as partitions; the boundary month's rows are deleted in batches."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="Age like 365d or 12h.")
        # The batch is an OFFSET: past a 32-bit integer a database may refuse it.
        parser.add_argument(
            "--batch-size",
            type=WholeNumber(1, 2**31 - 1),
            default=10_000,
            help="Event ids deleted per statement (default 10000).",
        )

    def handle(self, *args, **options):
        age = parse_age(options["older_than"])
        batch = options["batch_size"]

        def progress(count: int) -> None:
            self.stderr.write(f"  {count:,} events deleted…")

        result = retention.prune(older_than=age, batch=batch, progress=progress)
        partitions.ensure_ahead()
        record_command(
            EventType.AUDIT_LOG_PRUNED,
            "prune_audit_log",
            older_than=options["older_than"],
            deleted=result.deleted,
            through_event_id=result.through_event_id,
            partitions_dropped=list(result.dropped),
        )
        for name in result.dropped:
            self.stderr.write(f"  dropped partition {name}")
        self.stdout.write(
            f"Deleted {result.deleted:,} audit events"
            + (f" (up to event #{result.through_event_id})" if result.through_event_id else "")
            + (
                f": {len(result.dropped)} month(s) dropped whole, {result.rows_deleted:,} rows deleted."
                if result.dropped
                else "."
            )
        )
