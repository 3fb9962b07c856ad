"""Approving as an operator's browser does: the approval pages show what they approve and post
back its fingerprint in hidden fields (oauth_console/clients/approval.py), which these send back."""

import re


def posted_back(html: str) -> dict[str, list[str]]:
    """The hidden inputs of a page's forms, each name with all its values, as a browser posts them."""
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        fields.setdefault(name, []).append(value)
    return fields


def approve_on_page(http, url: str, **fields):
    """GET the approval page at `url`, then POST it back (with `fields`, a reason say)."""
    page = http.get(url)
    assert page.status_code == 200, page.status_code
    return http.post(url, {**posted_back(page.content.decode()), **fields})


def approve_from_the_list(http, changelist: str, action: str, pks: list):
    """Run a list approval `action` on `pks`: its confirmation page, then that page's POST."""
    page = http.post(changelist, {"action": action, "_selected_action": pks, "index": 0})
    assert page.status_code == 200, page.status_code
    return http.post(changelist, posted_back(page.content.decode()))
