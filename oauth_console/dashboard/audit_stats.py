"""Dashboard numbers read from the audit log, if the audit app is installed.

The audit log belongs to `oauth_console.audit`; the dashboard reads it only through that app's
selectors (`oauth_console.audit.selectors`), never its table or event types, and works without
it: client-authentication numbers are then left out, and revocations are counted from the token
table instead (slow at scale, see `server.selectors.revocations_per_day`).
"""

from datetime import date, datetime
from types import ModuleType

from django.apps import apps

# The name the dashboard stores this series' days under (oauth_console.dashboard.history). It
# changes whenever what the series counts changes, so no day counted the old way is shown:
# "auth" counted only `client_authenticated` events (migration 0002 drops its rows).
AUTH_SERIES = "client-auth"


def _audit_selectors() -> ModuleType | None:
    if not apps.is_installed("oauth_console.audit"):
        return None
    from oauth_console.audit import selectors

    return selectors


def audit_available() -> bool:
    """True when client-authentication events can be read."""
    return _audit_selectors() is not None


def failed_client_authentications_today(now: datetime | None = None) -> int | None:
    """Failed client authentications since midnight, or None without an audit log."""
    selectors = _audit_selectors()
    return None if selectors is None else selectors.failed_client_authentications_today(now)


def client_authentications_per_day(
    first: date, last: date, *, since: datetime | None = None, until: datetime | None = None
) -> dict[date, dict[str, int]] | None:
    """{date: {"success": n, "failure": n}} (see the audit selector), or None without an audit log."""
    selectors = _audit_selectors()
    if selectors is None:
        return None
    return selectors.client_authentications_per_day(first, last, since=since, until=until)


def revocations_per_day(
    first: date, last: date, *, since: datetime | None = None, until: datetime | None = None
) -> dict[date, int] | None:
    """{date: tokens revoked that day} (see the audit selector), or None without an audit log."""
    selectors = _audit_selectors()
    if selectors is None:
        return None
    return selectors.revocations_per_day(first, last, since=since, until=until)
