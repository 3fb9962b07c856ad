"""Approving what the operator saw: the pages that show what an approval approves and post back
its fingerprint (`services.settings_fingerprint` of a pending app, `services.proposal_fingerprint`
of held changes), for the services to compare under a row lock (docs/security.md, the
machine-facing review, findings 6, 9 and 10). The list's two approvals ask first on such a page,
one section per client; the apps whose values changed since are not approved and are shown
again as they are now (409)."""

import json

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html_join

from oauth_console import admin_confirm
from server import services
from server.models import Client

SHOWN_PREFIX = "shown-"  # + the client's pk: the fingerprint of what the page showed of it
CHANGED = "Changed after they were shown to you, so not approved: review them again below."


def _shown_value(value) -> str:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def settings_rows(client: Client) -> str:
    """The settings an approval of `client` approves, as table rows (setting, value); the ones
    left empty or off are not listed (the fingerprint covers them too)."""
    return format_html_join(
        "",
        '<tr><th scope="row">{}</th><td class="wrap-anywhere">{}</td></tr>',
        (
            (field, _shown_value(value))
            for field in services.CLIENT_FIELDS_EDITABLE
            if (value := getattr(client, field)) not in ("", None, False, [], {})
        ),
    )


def shown(request: HttpRequest, client: Client) -> str:
    """The fingerprint the confirmation page showed for `client` ("" if it showed none: an
    approval of that client is refused)."""
    return request.POST.get(f"{SHOWN_PREFIX}{client.pk}", "")


def ask(
    model_admin,
    request: HttpRequest,
    *,
    action: str,
    title: str,
    entries: list[tuple[Client, str, str]],
    columns: tuple[str, ...],
    consequence: str,
    changed: bool = False,
) -> TemplateResponse:
    """The confirmation of a list approval: per client (client, rows, fingerprint) its values and
    a hidden fingerprint; the page's POST carries `confirm=yes` and selects exactly the clients
    it lists. `changed`: shown again because these changed (409)."""
    count = len(entries)
    context = {
        **model_admin.admin_site.each_context(request),
        "console_section": "clients",
        "title": title,
        "entries": [
            {"client": client, "rows": rows, "field": f"{SHOWN_PREFIX}{client.pk}", "fingerprint": value}
            for client, rows, value in entries
        ],
        "columns": columns,
        "consequence": consequence,
        "problem": CHANGED if changed else "",
        "button": f"Approve {count} client{'s' if count != 1 else ''}",
        "action": action,
        "confirm_field": admin_confirm.CONFIRM_FIELD,
    }
    return TemplateResponse(
        request, "console/clients/approve_shown.html", context, status=409 if changed else 200
    )
