"""Pages: offset pages for short lists (clients, consents, initial access tokens), cursors for
the long ones (tokens, audit events), which keep their place while rows are added."""

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


class TokenCursor(NewestFirstCursor):
    ordering = ("-issued_at", "-id")


class AuditCursor(NewestFirstCursor):
    ordering = ("-occurred_at", "-id")
