from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "oauth_console.audit"
    label = "audit"
    verbose_name = "Security audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the signal receivers: the only way events reach the log.
        from oauth_console.audit import receivers  # noqa: F401
