"""The list cells' helpers (oauth_console.admin_cells) write their markup as one string: the
same markup format_html wrote before, pinned here against it."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from oauth_console import admin_cells as cells


def moment_by_format_html(value, *, seconds=False):
    local = django_timezone.localtime(value)
    return format_html(
        '<time class="cell-lines" datetime="{}"><span>{}</span><span>{}</span></time>',
        local.isoformat(),
        local.strftime("%Y-%m-%d"),
        local.strftime("%H:%M:%S" if seconds else "%H:%M"),
    )


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 6, 9, 41, 7, 123456, tzinfo=UTC),
        datetime(2026, 1, 2, 0, 0, tzinfo=UTC),
        datetime(2026, 6, 30, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC),
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
@pytest.mark.parametrize("seconds", [False, True])
def test_moment_is_the_format_html_markup(value, zone, seconds):
    with django_timezone.override(zone):
        assert cells.moment(value, seconds=seconds) == moment_by_format_html(value, seconds=seconds)
    assert cells.moment(None) == "—"


@pytest.mark.parametrize("value", ["Billing", "a <b> & \"c\" 'd'", mark_safe("<em>kept</em>"), 42, "", None])
@pytest.mark.parametrize("kind", list(cells.KINDS))
def test_shortened_is_the_format_html_markup(value, kind):
    text = "" if value is None else str(value)
    expected = (
        format_html('<span class="{}" title="{}">{}</span>', cells.KINDS[kind], text, text) if text else "—"
    )
    assert cells.shortened(value, kind=kind) == expected
