"""Every page of the project, as each kind of user, with markup stored in every text column a page
may show and sent in every query parameter a page reads: the markup is escaped wherever it lands
(stored or reflected), and every HTML answer carries the strict
Content-Security-Policy with no inline code (tests/security/test_content_security_policy.py's
scanner). The hostile-values matrix (tests/properties/hostile/) sends values through each door
and checks named outputs; this walks every URL pattern (tests/security/page_walk.py) with the
rows written around every door, so a page or a column no matrix row names is covered too.

Found by the first run: DRF's browsable pages of the operator API wrote an inline <style>
(oauth_console/api/base.py, OperatorBrowsableRenderer).
"""

from urllib.parse import quote

import pytest
from django.apps import apps
from django.db import DatabaseError, models, transaction

from . import page_walk
from .test_content_security_policy import assert_strict_policy, inline_code_in

pytestmark = pytest.mark.django_db

MARKUP = "\"'><svg/onload=alert(7)>"
# The apps whose rows the pages show.
APPS = ("server", "audit", "webhooks", "portal", "api", "dashboard", "auth")
# Columns a row is looked up or rendered by, or that the walk's rows need intact: identifiers the
# URLs name, credentials, and values a policy keeps to a closed set (choices are skipped anyway).
# A signing key's sealed private half is no text anyone writes (a corrupt one is /readyz's 503).
KEPT = {"client_id", "kid", "username", "password", "message_id", "codename", "private_key_encrypted"}
KEPT_TYPES = (models.JSONField,)
# Every query parameter a page reads, given the markup; not the admin's own switches (a popup,
# a to_field, the "?e=1" error page, sorting, paging), which turn a page into another.
REFLECTED = "&".join(
    f"{name}={quote(MARKUP)}"
    for name in page_walk.QUERY_NAMES
    if name not in ("_popup", "_to_field", "e", "o", "p", "all")
)


def poison_every_text_column() -> list[str]:
    """Every row's CharField and TextField (not an identifier, not a choice) set to MARKUP, as a
    row written before a policy or by hand would hold it; the columns written."""
    written = []
    for model in apps.get_models():
        if model._meta.app_label not in APPS or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if field.primary_key or field.name in KEPT or field.choices or field.is_relation:
                continue
            if not isinstance(field, models.CharField | models.TextField) or isinstance(field, KEPT_TYPES):
                continue
            value = (MARKUP + field.name)[: field.max_length or None]
            try:
                with transaction.atomic():
                    if model._default_manager.update(**{field.name: value}):
                        written.append(f"{model._meta.label}.{field.name}")
            except DatabaseError:
                continue  # a column the database keeps to a form (an IP address, a unique one)
    return written


@pytest.fixture
def walk(django_user_model, settings):
    settings.OAUTH2_RATE_LIMIT_ENABLED = False
    browsers, users = page_walk.people(django_user_model)
    good = page_walk.good_values(users)
    written = poison_every_text_column()
    assert {"server.Client.name", "server.Client.description", "webhooks.Delivery.last_error"} <= set(written)
    return browsers, good


@pytest.mark.parametrize("role", ["anonymous", "end user", "developer", "operator", "security analyst"])
def test_stored_and_reflected_markup_is_escaped_and_every_html_page_is_under_the_strict_policy(walk, role):
    browsers, good = walk
    failed = []
    for route, values in page_walk.routes_for(role, good):
        url = page_walk.fill(route, values)
        if url is None:
            continue
        for address, accept in ((url, "text/html"), (url, "*/*"), (f"{url}?{REFLECTED}", "text/html")):
            response = browsers[role].get(address, HTTP_ACCEPT=accept)
            if response.status_code >= 500:
                failed.append(f"{response.status_code} {address[:200]}")
            if getattr(response, "streaming", False) or "text/html" not in response.get("Content-Type", ""):
                continue
            page = response.content.decode()
            if "<svg/onload" in page:
                failed.append(f"raw markup on {address[:200]} ({accept})")
            try:
                assert_strict_policy(response)
            except AssertionError as error:
                failed.append(f"{address[:200]} ({accept}): {error}")
            if problems := inline_code_in(response):
                failed.append(f"inline code on {address[:200]} ({accept}): {sorted(set(problems))}")
    assert not failed, "\n".join(dict.fromkeys(failed))
