from django.apps import AppConfig


class ServerConfig(AppConfig):
    name = "server"
    verbose_name = "OAuth 2.0 server"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the rate limiter's user_logged_in receiver (a successful sign-in is taken
        # back from the sign-in throttle), whether or not its middleware has been loaded yet.
        from server import ratelimit  # noqa: F401
        # Deactivating or deleting a user revokes their OAuth access (server/receivers.py).
        from server import receivers  # noqa: F401
