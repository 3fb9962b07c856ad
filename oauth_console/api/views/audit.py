"""The audit log: filtered, cursor-paginated; exported as JSON lines (the export is itself
recorded as `audit_log_exported`, with the caller as actor)."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema

from oauth_console.api import serializers as s
from oauth_console.api.auth import READ_AUDIT
from oauth_console.api.base import OperatorAPIView
from oauth_console.api.pagination import AuditCursor
from oauth_console.api.problems import field_problem
from oauth_console.audit import recorder, selectors
from oauth_console.audit.export import event_row, jsonl_lines
from oauth_console.audit.models import EventType

TAG = ["audit"]
EXPORT_CHUNK = 2000


class _AuditView(OperatorAPIView):
    scopes = {"GET": (READ_AUDIT,)}
    serializer_class = s.AuditEventOut

    def filters(self) -> dict:
        values = self.query_values(s.AuditQuery)
        since, until = values.get("since"), values.get("until")
        if since and until and since >= until:
            raise field_problem("until", "until must be after since.")
        return {
            "event_types": values.get("event_type", ()),
            "client_id": values.get("client_id", ""),
            "actor": values.get("actor", ""),
            "actor_kind": values.get("actor_kind", ""),
            "outcome": values.get("outcome", ""),
            "since": since,
            "until": until,
        }


class AuditEventList(_AuditView):
    pagination_class = AuditCursor

    @extend_schema(tags=TAG, operation_id="audit_events_list", parameters=[s.AuditQuery])
    def get(self, request):
        page = self.paginate_queryset(selectors.events_matching(**self.filters()))
        return self.get_paginated_response([event_row(event) for event in page])


class AuditEventExport(_AuditView):
    @extend_schema(
        tags=TAG,
        operation_id="audit_events_export",
        parameters=[s.AuditQuery],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="JSON lines")
        },
        description="Every matching event, oldest first, one JSON object per line "
        "(cursor and limit ignored).",
    )
    def get(self, request):
        filters = self.filters()
        events = selectors.events_matching(**filters, oldest_first=True)
        caller = request.user
        # Stored before a line is sent (an export that cannot be recorded is not made).
        recorder.record_with_fact(
            EventType.AUDIT_LOG_EXPORTED,
            actor_kind=caller.actor.kind,
            actor_label=caller.actor.label,
            client_id=caller.actor.client_id or "",
            request=request._request,
            detail={
                "via": "api",
                "format": "jsonl",
                "filters": {
                    k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v
                },
            },
        )
        response = StreamingHttpResponse(
            jsonl_lines(events.iterator(chunk_size=EXPORT_CHUNK)), content_type="application/x-ndjson"
        )
        response["Content-Disposition"] = 'attachment; filename="audit-events.jsonl"'
        return response
