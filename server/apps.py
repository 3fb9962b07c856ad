from django.apps import AppConfig
from django.core import checks


class ServerConfig(AppConfig):
    name = "server"
    verbose_name = "OAuth 2.0 server"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the receivers: the rate limiter's user_logged_in (a successful sign-in is
        # taken back from the sign-in throttle), whether or not its middleware has been loaded
        # yet; and server/receivers.py (deactivating or deleting a user revokes their OAuth access).
        from server import ratelimit, receivers, resumable  # noqa: F401
        from server.checks import CHECKS
        from server.services.backchannel_logout import resume_backchannel_logouts

        # Back-channel logouts are sent at least once: `manage.py resume_deliveries` re-queues them.
        resumable.register("back-channel logout(s)", resume_backchannel_logouts)

        for check, tags, deploy in CHECKS:
            checks.register(check, *tags, deploy=deploy)
