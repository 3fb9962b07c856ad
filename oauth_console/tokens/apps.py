from django.apps import AppConfig


class TokensConsoleConfig(AppConfig):
    """Operator pages for issued tokens: the masked list, families and bulk revocation."""

    name = "oauth_console.tokens"
    label = "console_tokens"
    verbose_name = "Console: tokens"
