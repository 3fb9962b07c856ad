from django.apps import AppConfig


class ClientsConsoleConfig(AppConfig):
    """Operator pages for OAuth clients and their secrets (registered on the admin site)."""

    name = "oauth_console.clients"
    label = "console_clients"
    verbose_name = "Console: clients"
