"""Nothing outside the audit app names its table, its model or its event-type strings (issue 12):
other apps read the log through `oauth_console.audit.selectors`."""

import re
from pathlib import Path

from oauth_console.audit.models import AuditEvent, EventType

ROOT = Path(__file__).resolve().parents[3]
AUDIT_APP = ROOT / "oauth_console" / "audit"


def _python_outside_the_audit_app():
    # `server` is left out: it cannot import the console at all (the import contract), and its
    # signals share their names with the event types by design.
    for path in (ROOT / "oauth_console").rglob("*.py"):
        if AUDIT_APP not in path.parents:
            yield path


def test_no_other_app_names_the_audit_table_or_event_types():
    names = [re.escape(value) for value in EventType.values]
    literal = re.compile("[\"'](" + "|".join(names) + ")[\"']")
    table = re.escape(AuditEvent._meta.db_table)
    model = re.compile(r"""["']audit["']\s*,\s*["']AuditEvent["']|["']audit\.\w+auditevent["']|""" + table)
    found = []
    for path in _python_outside_the_audit_app():
        text = path.read_text(encoding="utf-8")
        for pattern in (literal, model):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert found == []
