from django.apps import AppConfig


class ServerConfig(AppConfig):
    name = "server"
    verbose_name = "OAuth 2.0 server"
    default_auto_field = "django.db.models.BigAutoField"
