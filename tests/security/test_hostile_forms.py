"""Hostile values in every field of the browser forms, as the user each form is for: the form
re-rendered with its errors, a 4xx, or (for a value the form may take) its success; never a
500, and a refused form writes no row. The fields are read from each form's own page."""

import re
from urllib.parse import quote

import pytest
from django.apps import apps

from . import page_walk

pytestmark = pytest.mark.django_db

# Percent-encoded as a browser sends them; the last ones are not UTF-8 at all.
FIELD_VALUES = [
    "%00",
    "a%00b",
    quote("²"),
    quote("٣"),
    str(2**63),
    "9" * 30,
    "-1",
    "",
    "a" * 100_000,
    "%ED%A0%80",
    "%FF%FE",
]


def _forms(good: dict) -> list[tuple[str, str]]:
    """(role, page) of each browser form."""
    app, subscription = good["client_id"], good["subscription_id"]
    admin_forms = [
        "/admin/server/client/add/",
        f"/admin/server/client/{good['object_id']}/change/",
        f"/admin/server/client/{good['object_id']}/rotate-secret/",
        f"/admin/server/client/{good['object_id']}/status/disable/",
        f"/admin/server/client/{good['object_id']}/secrets/{good['secret_id']}/expire/",
        "/admin/server/client/import/",
        "/admin/server/client/",  # the list's actions
        "/admin/server/api/add/",
        "/admin/server/api/import/",
        "/admin/server/signingkey/rotate/",
        "/admin/server/token/revoke/",
        "/admin/server/token/",
        "/admin/auth/user/add/",
        f"/admin/auth/user/{good['id']}/change/",
        f"/admin/auth/user/{good['id']}/password/",
        "/admin/auth/group/add/",
        "/admin/webhooks/subscription/add/",
        f"/admin/webhooks/subscription/{subscription}/edit/",
        f"/admin/webhooks/subscription/{subscription}/rotate/",
        "/admin/server/initialaccesstoken/add/",
        "/admin/password_change/",
    ]
    return [
        *[("operator", page) for page in admin_forms],
        ("developer", "/developers/apps/new/"),
        ("developer", f"/developers/apps/{app}/edit/"),
        ("developer", f"/developers/apps/{app}/rotate-secret/"),
        ("end user", f"/account/apps/{app}/revoke/"),
        ("end user", "/device"),
        ("anonymous", "/accounts/login/"),
        # Last: they take away the app, and the end user's session.
        ("developer", f"/developers/apps/{app}/delete/"),
        ("end user", "/accounts/logout/"),
    ]


_NAME = re.compile(r'<(?:input|select|textarea|button)[^>]*\bname="([^"]+)"')


def _field_names(html: str) -> list[str]:
    names = [name for name in dict.fromkeys(_NAME.findall(html)) if name != "csrfmiddlewaretoken"]
    return [*names, "_selected_action", "action", "select_across", "index", "confirm", "decision"]


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in ("server", "auth", "webhooks", "portal")
    }


@pytest.fixture
def walk(django_user_model, settings):
    settings.OAUTH2_RATE_LIMIT_ENABLED = False
    browsers, users = page_walk.people(django_user_model)
    return browsers, page_walk.good_values(users)


def _post(browser, page: str, names: list[str], value: str, *, each: bool):
    """Every field set to "x" and again to `value` (a form reads the last), or, `each`, one
    request a field with the others empty: each answer with the row counts from before it."""
    if each:
        bodies = [[f"{n}={value}" if n == name else f"{n}=" for n in names] for name in names]
    else:
        bodies = [[f"{n}=x&{n}={value}" for n in names]]
    for pairs in bodies:
        before = _row_counts()
        body = "&".join(pairs)
        yield browser.post(page, body, content_type="application/x-www-form-urlencoded"), before


@pytest.mark.parametrize("each", [False, True], ids=["every field", "one field"])
def test_a_hostile_form_value_is_refused_or_taken_never_a_500(walk, each):
    browsers, good = walk
    failed = []
    for role, page in _forms(good):
        browser = browsers[role]
        shown = browser.get(page)
        if shown.status_code not in (200, 405):  # sign-out is a POST only
            failed.append(f"{role} cannot open {page}: {shown.status_code}")
            continue
        names = _field_names(shown.content.decode())
        for value in FIELD_VALUES if not each else FIELD_VALUES[:5]:
            for response, before in _post(browser, page, names, value, each=each):
                if response.status_code >= 500:
                    failed.append(f"{response.status_code} {role} POST {page} {value[:20]!r}")
                elif response.status_code != 302 and _row_counts() != before:
                    failed.append(f"refused ({response.status_code}) but wrote: {role} {page} {value[:20]!r}")
    assert not failed, "\n".join(dict.fromkeys(failed))
