from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The operators' home page at /console/: counts and charts."""

    name = "oauth_console.dashboard"
    label = "console_dashboard"
    verbose_name = "Console: dashboard"

    def ready(self) -> None:
        from django.contrib import admin

        # The admin index links to the dashboard; "View site" leads there too.
        admin.site.index_template = "console/dashboard/admin_index.html"
        admin.site.site_url = "/console/"
