from django.apps import AppConfig


class KeysConsoleConfig(AppConfig):
    """Operator page for the OpenID Connect signing keys: see them, rotate now, revoke."""

    name = "oauth_console.keys"
    label = "console_keys"
    verbose_name = "Console: signing keys"
