"""How the console's admin lists show long values, so every column an operator needs fits a
1366-pixel screen: one helper for the markup, one stylesheet (static/css/admin-lists.css).

A client name, a user name or an actor label can be 100 characters with no space in them; left
alone, one such cell pushes every column after it off screen. `shortened` cuts it to its column
with an ellipsis and keeps the whole value on hover (title) and for screen readers and copying.
"""

from collections.abc import Iterable
from datetime import datetime

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.utils import timezone
from django.utils.html import conditional_escape, escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

# Add to a ModelAdmin's media: `media = super().media + LIST_MEDIA` or `class Media` with its css.
LIST_CSS = "css/admin-lists.css"
LIST_MEDIA = forms.Media(css={"all": [LIST_CSS]})


# How wide each kind of value may grow before it is cut (static/css/admin-lists.css): a name
# is what an operator reads a row by; an identifier (a client_id, an actor label) is shown
# whole when generated (22 characters), only longer ones are cut; a person (an owner, a user)
# is secondary and gets the least room.
KINDS = {
    "name": "cell-truncate",
    "identifier": "cell-truncate cell-identifier",
    "person": "cell-truncate cell-person",
}


def shortened(value: object, *, kind: str = "name") -> str:
    """`value` in one line cut to its column's width with an ellipsis, whole in the title."""
    text = "" if value is None else str(value)
    if not text:
        return "—"
    # format_html's markup, the value escaped once for both places (a list calls this for
    # three columns of 100 rows).
    text = conditional_escape(text)
    return mark_safe(f'<span class="{KINDS[kind]}" title="{text}">{text}</span>')  # noqa: S308


def one_per_line(values: Iterable[object]) -> str:
    """Short values (grant types, scopes) one under the other: the column is as wide as the
    longest one, not as all of them side by side."""
    items = [str(value) for value in values]
    if not items:
        return "—"
    return format_html(
        '<span class="cell-lines">{}</span>', format_html_join("", "<span>{}</span>", ((i,) for i in items))
    )


def moment(value: datetime | None, *, seconds: bool = False) -> str:
    """A time as date over time, in the current time zone ("2026-12-06" / "09:41"): about half
    as wide as the admin's "Dec. 6, 2026, 9:41 a.m." on one line, and sorts by eye."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    iso = local.isoformat()  # digits and "-:+.T": nothing to escape
    # isoformat pads a year to four digits, strftime does not (before the year 1000).
    day = local.strftime("%Y-%m-%d") if local.year < 1000 else iso[:10]
    clock = iso[11:19] if seconds else iso[11:16]
    # Two columns of 100 rows: sliced from the ISO form, not formatted three times.
    return mark_safe(  # noqa: S308 - see above
        f'<time class="cell-lines" datetime="{iso}"><span>{day}</span><span>{clock}</span></time>'
    )


class QuickActionCheckboxMixin:
    """Django's action checkbox column, the same markup written directly: Django renders a form
    widget through the template engine for each row, about a fifth of the token list's view
    (100 rows) in a profile. Mix into a ModelAdmin with actions, before `admin.ModelAdmin`."""

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj) -> str:
        # Django's two format_html calls, as one string: the name is a constant, the label's
        # text is the translation's (format_html does not escape its format string either).
        label = _("Select this object for an action - {}").format(conditional_escape(str(obj)))
        return mark_safe(  # noqa: S308 - the values are escaped
            f'<input type="checkbox" name="{helpers.ACTION_CHECKBOX_NAME}" '
            f'value="{escape(str(obj.pk))}" class="action-select" aria-label="{label}">'
        )
