from django.apps import AppConfig


class ServerConfig(AppConfig):
    name = "server"
    verbose_name = "OAuth 2.0 server"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Deactivating or deleting a user revokes their OAuth access (server/receivers.py).
        from server import receivers  # noqa: F401
