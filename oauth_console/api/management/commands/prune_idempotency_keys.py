"""Delete the operator API's Idempotency-Key records once they are past their 24 hours.

A create prunes its own caller's old records, so a caller that stops calling leaves its
records behind; this removes everyone's (one DELETE). Daily from cron (docs/deployment.md).
"""

from django.core.management.base import BaseCommand

from oauth_console.api import idempotency


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than 24 hours (the operator API)."

    def handle(self, *args, **options):
        deleted = idempotency.prune_expired()
        self.stdout.write(f"Deleted {deleted} expired Idempotency-Key record(s).")
