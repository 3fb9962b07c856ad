"""The spec's usage example as a Django app: the test bed of `server.oauth2` (installed only in tests)."""

from django.apps import AppConfig


class ExampleAppConfig(AppConfig):
    name = "tests.oauth2.exampleapp"
    label = "exampleapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the spec's receivers
