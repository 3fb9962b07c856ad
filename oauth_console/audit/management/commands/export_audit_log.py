"""manage.py export_audit_log --since --until --format jsonl|csv: stream events for a SIEM or an auditor."""

from django.core.management.base import CommandError
from django.utils import timezone

from oauth_console.audit.commands_log import record_command
from oauth_console.audit.export import csv_lines, jsonl_lines
from oauth_console.audit.models import AuditEvent, EventType
from server.management.arguments import BoundedOptionsCommand, WholeNumber, parse_moment

WRITERS = {"jsonl": jsonl_lines, "csv": csv_lines}
CHUNK = 2_000


class Command(BoundedOptionsCommand):
    help = (
        "Stream audit events with since <= time < until as JSON lines or CSV to stdout (or --output); "
        "progress goes to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since", help="Start (inclusive): 2025-01-31 or an ISO date-time. Default: the beginning."
        )
        parser.add_argument("--until", help="End (exclusive). Default: now.")
        parser.add_argument("--format", default="jsonl", help="jsonl (default) or csv.")
        parser.add_argument("--output", help="Write to this file instead of stdout.")
        parser.add_argument(
            "--progress-every",
            type=WholeNumber(1, 1_000_000_000),
            default=10_000,
            help="Report progress every N events (stderr).",
        )

    def handle(self, *args, **options):
        fmt = (options["format"] or "").lower()
        if fmt not in WRITERS:
            raise CommandError(f"Unknown --format {options['format']!r}: use jsonl or csv.")
        since = parse_moment(options["since"], "--since") if options["since"] else None
        until = parse_moment(options["until"], "--until") if options["until"] else timezone.now()
        if since is not None and since >= until:
            raise CommandError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()}).")
        events = AuditEvent.objects.filter(occurred_at__lt=until)
        if since is not None:
            events = events.filter(occurred_at__gte=since)
        # Oldest first, on the (occurred_at, id) index; iterator() streams instead of loading all.
        events = events.order_by("occurred_at", "id").iterator(chunk_size=CHUNK)
        every = options["progress_every"]
        out = _opened(options["output"]) if options["output"] else None
        write = out.write if out is not None else (lambda line: self.stdout.write(line, ending=""))
        try:
            for line in WRITERS[fmt](self._counted(events, every)):
                write(line)
            count = self._count
        finally:
            if out is not None:
                out.close()
        record_command(
            EventType.AUDIT_LOG_EXPORTED,
            "export_audit_log",
            since=since.isoformat() if since is not None else None,
            until=until.isoformat(),
            format=fmt,
            exported=count,
            output=options["output"] or "stdout",
        )
        self.stderr.write(f"Exported {count:,} events.")

    def _counted(self, events, every):
        self._count = 0
        for event in events:
            yield event
            self._count += 1
            if self._count % every == 0:
                self.stderr.write(f"  {self._count:,} events exported…")


def _opened(path: str):
    """The --output file, opened for writing; a CommandError saying why it cannot be (a missing
    folder, no permission, a NUL in the name) instead of a traceback."""
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except (OSError, ValueError) as error:
        raise CommandError(f"Cannot write the export to --output {path!r}: {error}.") from None
