"""A security analyst (the `security` group: may read the audit log, nothing else) is offered only
links it may follow: every link on the pages it works in opens, and none leads to a 403."""

from html.parser import HTMLParser

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from oauth_console.audit import recorder
from oauth_console.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith("/") and not href.startswith("/static/"):
            self.hrefs.append(href)


def links_on(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.hrefs


@pytest.fixture
def event(make_client, end_user) -> AuditEvent:
    billing, _ = make_client("Billing")
    built = recorder.build_event(
        "token_issued",
        client_id=billing.client_id,
        user_id=end_user.pk,
        username=end_user.username,
        token_id=77,
        token_prefix="oat_abcdefgh",
        detail={"grant_type": "authorization_code", "client_auth_method": "client_secret_basic"},
    )
    recorder.insert([built])
    return AuditEvent.objects.get(event_type="token_issued")


@pytest.fixture
def sec(security_user) -> HttpClient:
    http = HttpClient()
    http.force_login(security_user)
    return http


@pytest.fixture
def root(operator) -> HttpClient:
    http = HttpClient()
    http.force_login(operator)
    return http


def test_audit_detail_names_client_user_and_token_without_links_the_analyst_cannot_follow(
    sec, event, end_user
):
    html = sec.get(reverse("admin:audit_auditevent_change", args=[event.pk])).content.decode()

    assert event.client_id in html and end_user.username in html and "#77 oat_abcdefgh…" in html
    assert reverse("admin:server_client_changelist") not in html
    assert reverse("admin:auth_user_change", args=[end_user.pk]) not in html
    assert reverse("admin:server_token_change", args=[77]) not in html


def test_operators_still_get_the_links(root, event, end_user):
    html = root.get(reverse("admin:audit_auditevent_change", args=[event.pk])).content.decode()

    assert reverse("admin:auth_user_change", args=[end_user.pk]) in html
    assert reverse("admin:server_token_change", args=[77]) in html


def test_the_admin_index_offers_the_dashboard_only_to_those_who_may_open_it(sec, root):
    assert 'href="/console/"' not in sec.get(reverse("admin:index")).content.decode()
    assert 'href="/console/"' in root.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize(
    "start",
    [
        "admin:index",
        "admin:audit_auditevent_changelist",
        "admin:audit_auditevent_change",
    ],
)
def test_every_link_the_analyst_is_shown_opens(sec, event, start):
    args = [event.pk] if start.endswith("_change") else []
    page = sec.get(reverse(start, args=args))
    assert page.status_code == 200

    refused = []
    for href in sorted(set(links_on(page.content.decode()))):
        status = sec.get(href).status_code
        if status in (401, 403, 404):
            refused.append((href, status))

    assert refused == []
