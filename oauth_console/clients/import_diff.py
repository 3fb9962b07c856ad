"""The import preview's diff, marked with elements and classes instead of inline styles.

django-import-export renders each changed value with diff_match_patch's `diff_prettyHtml`, which
gives every <ins> an inline style attribute (its green background): every page runs under a
Content-Security-Policy without 'unsafe-inline', so the browser refused each of those attributes
(one console error per value) and the preview showed nothing marked. The same markup without the
attribute; the colours are in console/clients/import.css.
"""

from diff_match_patch import diff_match_patch
from django.utils.encoding import force_str
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from import_export.resources import Diff

ELEMENT = {
    diff_match_patch.DIFF_INSERT: "ins",
    diff_match_patch.DIFF_DELETE: "del",
    diff_match_patch.DIFF_EQUAL: "span",
}


class StyleFreeDiff(Diff):
    """import-export's Diff, rendered without a style attribute (see the module's docstring)."""

    def as_html(self) -> list[SafeString]:
        cells = []
        matcher = diff_match_patch()
        for before, after in zip(self.left, self.right, strict=False):
            if before != after and self.new:
                before = ""
            parts = matcher.diff_main(force_str(before), force_str(after))
            matcher.diff_cleanupSemantic(parts)
            cells.append(mark_safe("".join(_mark(operation, text) for operation, text in parts)))  # noqa: S308
        return cells


def _mark(operation: int, text: str) -> str:
    element = ELEMENT[operation]
    return f"<{element}>{escape(text).replace(chr(10), '&para;<br>')}</{element}>"
