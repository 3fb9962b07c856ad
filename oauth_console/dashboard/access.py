"""Who may open the operators' dashboard: one rule for the view and for every link to it."""

# Any one of these: the dashboard shows clients and tokens, nothing a viewer could not list.
VIEW_PERMISSIONS = ("server.view_client", "server.view_token", "server.manage_clients")
# Where "View site" leads a staff user who may not open the dashboard (the security team):
# the public home page, which everybody may open.
HOME = "/"


def may_open_dashboard(user) -> bool:
    """True when `user` is staff with one of VIEW_PERMISSIONS (the admin's own caches make this
    free after the first check in a request)."""
    return bool(user.is_active and user.is_staff) and any(user.has_perm(p) for p in VIEW_PERMISSIONS)
