from django.apps import AppConfig


class OAuthConsoleConfig(AppConfig):
    name = "oauth_console"
    verbose_name = "OAuth console"
