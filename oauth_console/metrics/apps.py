from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "oauth_console.metrics"
    label = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from oauth_console.metrics import receivers  # noqa: F401  (connects the listeners)
