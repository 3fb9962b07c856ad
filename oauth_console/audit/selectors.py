"""Reads of the audit log for other console pages (the audit admin has its own queries)."""

from django.db.models import QuerySet

from oauth_console.audit.models import AuditEvent, EventType

# What was done to a client, by whom: its History page. Token traffic (issued, used,
# authenticated) is left to the audit log itself, where it can be filtered.
CLIENT_HISTORY_EVENTS = (
    EventType.CLIENT_CREATED,
    EventType.CLIENT_CHANGED,
    EventType.CLIENT_APPROVED,
    EventType.CLIENT_REJECTED,
    EventType.CLIENT_DISABLED,
    EventType.CLIENT_ENABLED,
    EventType.CLIENT_DELETED,
    EventType.CLIENT_SECRET_ROTATED,
    EventType.CLIENT_SECRET_EXPIRED,
    EventType.TOKENS_REVOKED,
)


def client_history(client_id: str, *, limit: int = 200) -> QuerySet[AuditEvent]:
    """The newest `limit` lifecycle and credential events of one client, newest first.

    Filters on the (client_id, -occurred_at, -id) index; a client's lifecycle events are few.
    """
    return AuditEvent.objects.filter(client_id=client_id, event_type__in=CLIENT_HISTORY_EVENTS).order_by(
        "-occurred_at", "-id"
    )[:limit]
