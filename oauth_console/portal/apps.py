from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "oauth_console.portal"
    label = "portal"
    verbose_name = "Developer portal"
