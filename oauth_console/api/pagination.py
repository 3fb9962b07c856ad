"""Pages: offset pages for short lists (clients, consents, initial access tokens), cursors for
the long ones (tokens, audit events), which keep their place while rows are added."""

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, LimitOffsetPagination


class OffsetPage(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class NewestFirstCursor(CursorPagination):
    """Keyset pages, newest first; `limit` up to 500."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request):
        """DRF's cursor, its position checked: DRF decodes the offset and direction but passes
        the position (`p`, a timestamp of the first ordering column) to the database as it came.
        A cursor is the caller's to edit, and `p=garbage` failed in the filter (Django's
        ValidationError: a 500); it is the invalid cursor's 404 instead."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not _is_position(cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor


def _is_position(position: str) -> bool:
    """A position this API writes: an aware timestamp (str() of the column's value)."""
    try:
        moment = parse_datetime(position)
    except ValueError:  # well formed, but no such time (month 13)
        return False
    return moment is not None and moment.tzinfo is not None


class TokenCursor(NewestFirstCursor):
    ordering = ("-issued_at", "-id")


class AuditCursor(NewestFirstCursor):
    ordering = ("-occurred_at", "-id")
