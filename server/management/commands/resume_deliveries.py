"""Queue the deliveries nothing is going to send (`server.resumable`): back-channel logouts and
webhook deliveries whose worker was killed mid-attempt (their claim has lapsed), or whose task
was lost. Safe to run often (docs/deployment.md: every few minutes): a delivery whose claim is
still live is left to the worker that holds it, and one queued twice is sent once (the first task
claims it, the other finds it claimed or done)."""

from django.core.management.base import BaseCommand

from server import resumable


class Command(BaseCommand):
    help = "Queue a task for every due, unclaimed at-least-once delivery (back-channel logouts, webhooks)."

    def handle(self, *args, **options):
        for kind, queued in resumable.resume_all().items():
            self.stdout.write(f"Queued {queued} {kind}.")
