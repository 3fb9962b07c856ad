from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "oauth_console.audit"
    label = "audit"
    verbose_name = "Security audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the signal receivers, and register the recorders that `server.events` runs
        # inside the transaction of the fact they report: the only ways events reach the log.
        from oauth_console.audit import receivers, tasks
        from server import checks_tasks, events

        for name, record in receivers.RECORDERS:
            events.add_recorder(name, record)
        # The write path queues the periodic seal (AUDIT_CHECKPOINT_EVERY): server.E011 checks
        # that the task backend takes its queue.
        checks_tasks.queue_needed(tasks.seal_queue_needed)
