from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "oauth_console.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The outbox: a delivery row for every subscribed event, written in the event's own
        # transaction (recorders) or, for events that report no write of ours, when it is heard.
        from oauth_console.webhooks import delivery, outbox, tasks
        from server import checks_tasks, resumable

        outbox.connect()
        # Deliveries are sent at least once: `manage.py resume_deliveries` re-queues them.
        resumable.register("webhook subscription(s)", delivery.resume_stalled)
        # The outbox queues every delivery on the webhooks queue: server.E011 checks that the task
        # backend takes it whenever this app is installed (tasks.delivery_queue_needed says why).
        checks_tasks.queue_needed(tasks.delivery_queue_needed)
