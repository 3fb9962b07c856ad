"""Exporting events: the django-import-export resource (admin) and the streaming writers (command).

Several exported values come from the outside world (user agent, attempted user names, client
ids that failed to authenticate). A spreadsheet would run a cell that starts with "=" as a
formula, so CSV and XLSX cells get a leading apostrophe there (`oauth_console.spreadsheets`, the
rule every export follows); JSON keeps the values as they are.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator

from import_export import fields, resources

from oauth_console.audit.chain import HASHED_FIELDS, iso_utc
from oauth_console.audit.models import AuditEvent
from oauth_console.spreadsheets import spreadsheet_safe

# The export shows what the hash covers, framed by the row id and the stored hash.
COLUMNS = ("id", *HASHED_FIELDS, "entry_hash")


class AuditEventResource(resources.ModelResource):
    """What the admin's export writes: every column, times in UTC ISO, detail as JSON text."""

    occurred_at = fields.Field(attribute="occurred_at", column_name="occurred_at")
    detail = fields.Field(attribute="detail", column_name="detail")

    class Meta:
        model = AuditEvent
        fields = COLUMNS
        export_order = COLUMNS

    def dehydrate_occurred_at(self, event: AuditEvent) -> str:
        return iso_utc(event.occurred_at)

    def dehydrate_detail(self, event: AuditEvent) -> str:
        return json.dumps(event.detail, sort_keys=True)


def event_row(event: AuditEvent) -> dict:
    """One event as a flat dict of JSON values, in COLUMNS order."""
    return {
        "id": event.pk,
        "occurred_at": iso_utc(event.occurred_at),
        "event_type": event.event_type,
        "outcome": event.outcome,
        "actor_kind": event.actor_kind,
        "actor_label": event.actor_label,
        "client_id": event.client_id,
        "user_id": event.user_id,
        "username": event.username,
        "token_id": event.token_id,
        "token_prefix": event.token_prefix,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "detail": event.detail,
        "entry_hash": event.entry_hash,
    }


def jsonl_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """One JSON object per event, each line ending in a newline."""
    for event in events:
        yield json.dumps(event_row(event), sort_keys=False, separators=(",", ":")) + "\n"


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """A header line, then one CSV line per event (spreadsheet-safe cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    for event in events:
        row = event_row(event)
        row["detail"] = json.dumps(row["detail"], sort_keys=True)
        writer.writerow([spreadsheet_safe("" if row[c] is None else row[c]) for c in COLUMNS])
        yield flush()
