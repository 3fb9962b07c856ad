"""Queue the webhook deliveries nothing is going to send: a worker was killed mid-attempt (its
claim has lapsed), or its task was lost. Safe to run often (docs/deployment.md: every few minutes):
a subscription already being delivered is left to the worker that holds it. `manage.py
resume_deliveries` does the same for every kind of at-least-once delivery (this and back-channel
logouts: `server.resumable`); this one is kept for the crons that name it."""

from django.core.management.base import BaseCommand

from oauth_console.webhooks import delivery


class Command(BaseCommand):
    help = "Queue a delivery task for every webhook subscription with a due, unclaimed delivery."

    def handle(self, *args, **options):
        queued = delivery.resume_stalled()
        self.stdout.write(f"Queued the deliveries of {queued} webhook subscription(s).")
