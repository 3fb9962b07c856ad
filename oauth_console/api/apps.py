from django.apps import AppConfig


class OperatorAPIConfig(AppConfig):
    """The operator REST API (/api/v1/)."""

    name = "oauth_console.api"
    label = "operator_api"
    verbose_name = "Operator API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oauth_console.api import schema  # noqa: F401  (registers the schema's auth extensions)
