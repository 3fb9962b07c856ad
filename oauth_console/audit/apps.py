from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "oauth_console.audit"
    label = "audit"
    verbose_name = "Security audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the signal receivers, and register the recorders that `server.events` runs
        # inside the transaction of the fact they report: the only ways events reach the log.
        from oauth_console.audit import receivers
        from server import events

        for name, record in receivers.RECORDERS:
            events.add_recorder(name, record)
