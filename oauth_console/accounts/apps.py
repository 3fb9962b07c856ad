from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "oauth_console.accounts"
    label = "accounts"
    verbose_name = "End-user accounts"
