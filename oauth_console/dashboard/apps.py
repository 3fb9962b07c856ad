from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The operators' home page at /console/: counts and charts."""

    name = "oauth_console.dashboard"
    label = "console_dashboard"
    verbose_name = "Console: dashboard"

    def ready(self) -> None:
        from django.contrib import admin

        from oauth_console.admin_lookups import refuse_everywhere
        from oauth_console.dashboard import access

        # The admin index links to the dashboard; "View site" leads there too, for those who
        # may open it. The security team (audit log only) would get a 403 there: its "View
        # site" leads to the home page instead. AdminSite has no per-user site_url, so its
        # page context is wrapped.
        site = admin.site
        site.index_template = "console/dashboard/admin_index.html"
        site.site_url = "/console/"
        # The admin's model sidebar takes 300 of a 1366-pixel screen's pixels from every list,
        # enough to push the columns operators need (created, last used, status) off screen.
        # The breadcrumbs, the index and the console's own navigation lead to every list.
        site.enable_nav_sidebar = False
        site_context = site.each_context

        def each_context(request):
            context = site_context(request)
            if not access.may_open_dashboard(request.user):
                context["site_url"] = access.HOME
            return context

        site.each_context = each_context
        # A NUL in a list's filter is a refused filter on every list, other apps' included
        # (PostgreSQL refuses it only when the page's query runs: a 500).
        refuse_everywhere(site)
