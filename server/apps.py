from django.apps import AppConfig
from django.core import checks


class ServerConfig(AppConfig):
    name = "server"
    verbose_name = "OAuth 2.0 server"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from server.checks import CHECKS

        for check, tags in CHECKS:
            checks.register(check, *tags)
