"""Hostile values in every field of the browser forms, as the user each form is for: the form
re-rendered with its errors, a 4xx, or (for a value the form may take) its success; never a
500, and a refused form writes no row. The fields are read from each form's own page."""

import re
from urllib.parse import quote

import pytest
from django.apps import apps
from django.db import connection

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


# (role, page) of each browser form, its path values named as page_walk.good_values names them.
# One test per form and mode: each form's walk is a few hundred POSTs, and a single test of all of
# them outran the suite's per-test timeout on PostgreSQL.
ADMIN_FORMS = [
    "/admin/server/client/add/",
    "/admin/server/client/{object_id}/change/",
    "/admin/server/client/{object_id}/rotate-secret/",
    "/admin/server/client/{object_id}/status/disable/",
    "/admin/server/client/{object_id}/secrets/{secret_id}/expire/",
    "/admin/server/client/import/",
    "/admin/server/client/",  # the list's actions
    "/admin/server/api/add/",
    "/admin/server/api/import/",
    "/admin/server/signingkey/rotate/",
    "/admin/server/token/revoke/",
    "/admin/server/token/",
    "/admin/auth/user/add/",
    "/admin/auth/user/{id}/change/",
    "/admin/auth/user/{id}/password/",
    "/admin/auth/group/add/",
    "/admin/webhooks/subscription/add/",
    "/admin/webhooks/subscription/{subscription_id}/edit/",
    "/admin/webhooks/subscription/{subscription_id}/rotate/",
    "/admin/server/initialaccesstoken/add/",
    "/admin/password_change/",
]
FORMS = [
    *[("operator", page) for page in ADMIN_FORMS],
    ("developer", "/developers/apps/new/"),
    ("developer", "/developers/apps/{client_id}/edit/"),
    ("developer", "/developers/apps/{client_id}/rotate-secret/"),
    ("end user", "/account/apps/{client_id}/revoke/"),
    ("end user", "/device"),
    ("anonymous", "/accounts/login/"),
    ("developer", "/developers/apps/{client_id}/delete/"),
    ("end user", "/accounts/logout/"),
]


_NAME = re.compile(r'<(?:input|select|textarea|button)[^>]*\bname="([^"]+)"')


def _field_names(html: str) -> list[str]:
    names = [name for name in dict.fromkeys(_NAME.findall(html)) if name != "csrfmiddlewaretoken"]
    return [*names, "_selected_action", "action", "select_across", "index", "confirm", "decision"]


def _row_counts() -> dict[str, int]:
    """Rows per table of the apps a form writes to, in one statement: the walk asks before and
    after every POST (thousands of times), and a statement per table made it the slowest test
    on PostgreSQL."""
    tables = sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if model._meta.app_label in ("server", "auth", "webhooks", "portal") and not model._meta.proxy
        }
    )
    quote = connection.ops.quote_name
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(table)})" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


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
@pytest.mark.parametrize(("role", "form"), FORMS, ids=[f"{role} {form}" for role, form in FORMS])
def test_a_hostile_form_value_is_refused_or_taken_never_a_500(walk, role, form, each):
    browsers, good = walk
    browser, page = browsers[role], form.format(**good)
    shown = browser.get(page)
    assert shown.status_code in (200, 405), f"{role} cannot open {page}: {shown.status_code}"  # 405: sign-out
    names = _field_names(shown.content.decode())
    failed = []
    for value in FIELD_VALUES if not each else FIELD_VALUES[:5]:
        for response, before in _post(browser, page, names, value, each=each):
            if response.status_code >= 500:
                failed.append(f"{response.status_code} {role} POST {page} {value[:20]!r}")
            elif response.status_code != 302 and _row_counts() != before:
                failed.append(f"refused ({response.status_code}) but wrote: {role} {page} {value[:20]!r}")
    assert not failed, "\n".join(dict.fromkeys(failed))
