"""manage.py seal_audit_log: cover settled events with checkpoints (run it from cron)."""

from django.core.management.base import BaseCommand

from oauth_console.audit import checkpoints


class Command(BaseCommand):
    help = "Write checkpoints over audit events older than AUDIT_CHECKPOINT_DELAY seconds."

    def handle(self, *args, **options):
        count = checkpoints.seal()
        self.stdout.write(f"Sealed {count:,} events.")
