"""The token list's and the audit log's rows (oauth_console.admin_rows): Django's markup, worked
out once per page, from the listed columns only, in a number of statements that does not grow
with the rows."""

from datetime import timedelta

import pytest
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.urls.resolvers import URLResolver

from oauth_console import admin_rows
from oauth_console.audit import recorder
from oauth_console.audit.models import AuditEvent
from server.models import Token

pytestmark = pytest.mark.django_db

TOKENS = reverse("admin:server_token_changelist")
AUDIT = reverse("admin:audit_auditevent_changelist")


@pytest.fixture
def root(operator) -> HttpClient:
    http = HttpClient()
    http.force_login(operator)
    return http


@pytest.fixture
def rows_of_every_kind(make_client, make_token, end_user):
    """Tokens and events in every state a cell shows differently, names that need escaping."""
    billing, _ = make_client('Billing <&> "quoted" ' + "x" * 60)
    other, _ = make_client("Other")
    make_token(billing, end_user, scope="profile email", refresh=True)
    make_token(billing, None, issued_ago=timedelta(hours=3))  # expired, no user
    revoked, _ = make_token(other, end_user, grant_type="authorization_code")
    Token.objects.filter(pk=revoked.pk).update(
        revoked_at=revoked.issued_at, revoked_by="operator:<olga>", revoked_reason="leaked & gone"
    )
    make_token(other, end_user, revoked=True)
    events = [
        recorder.build_event(
            "token_issued",
            client_id=billing.client_id,
            username="alice",
            token_id=7,
            token_prefix="oat_abcdefgh",
        ),
        recorder.build_event("client_authentication_failed", outcome="failure", client_id=other.client_id),
        recorder.build_event("user_login", username="<bob>", user_id=end_user.pk),
        recorder.build_event("token_revoked", token_id=9),
    ]
    recorder.insert(events)
    return billing, other


def pages(billing, other) -> list[str]:
    return [
        TOKENS,
        f"{TOKENS}?client={billing.pk}&status=active",
        f"{TOKENS}?status=revoked&o=2",
        f"{TOKENS}?grant_type=authorization_code&q=nothing-matches",
        AUDIT,
        f"{AUDIT}?event_type=token_issued",
        f"{AUDIT}?client_id={other.client_id}&outcome=failure",
        f"{AUDIT}?username=%3Cbob%3E",
    ]


def test_rows_are_djangos_markup_cell_for_cell(root, rows_of_every_kind):
    shown = 0
    for url in pages(*rows_of_every_kind):
        response = root.get(url)
        assert response.status_code == 200, url
        cl = response.context["cl"]
        page = response.content.decode()
        # Compiled, not fallen back to Django's per-cell code.
        columns = admin_rows.compile_columns(cl)
        for obj in cl.result_list:
            djangos = "".join(items_for_result(cl, obj, None))
            assert admin_rows.row_html(columns, obj) == djangos, url
            assert f"<tr>{djangos}</tr>" in page, url
            shown += 1
    assert shown >= 12


def test_a_filtered_list_links_each_row_with_its_filters_kept(root, rows_of_every_kind):
    billing, _ = rows_of_every_kind
    page = root.get(f"{TOKENS}?client={billing.pk}&status=active").content.decode()
    token = Token.objects.filter(client=billing, revoked_at__isnull=True, user__isnull=False).get()
    change = reverse("admin:server_token_change", args=[token.pk])
    assert f'href="{change}?_changelist_filters=client%3D{billing.pk}%26status%3Dactive"' in page


def test_columns_the_rows_do_not_compile_take_djangos_code(root, rows_of_every_kind, monkeypatch):
    from django.contrib import admin

    token_admin = admin.site._registry[Token]
    # A model attribute (not a field, not a method of the admin): Django's lookup_field reads it.
    monkeypatch.setattr(token_admin, "list_display", (*token_admin.list_display, "status"))
    response = root.get(TOKENS)
    cl = response.context["cl"]
    with pytest.raises(admin_rows.Unsupported):
        admin_rows.compile_columns(cl)
    page = response.content.decode()
    for obj in cl.result_list:
        assert "<tr>{}</tr>".format("".join(items_for_result(cl, obj, None))) in page


def _url_work(http, url: str) -> tuple[int, int]:
    """How many times the page reverses and resolves a URL."""
    counts = {"reverse": 0, "resolve": 0}
    reverse_with_prefix, resolve = URLResolver._reverse_with_prefix, URLResolver.resolve

    def counted_reverse(self, *args, **kwargs):
        counts["reverse"] += 1
        return reverse_with_prefix(self, *args, **kwargs)

    def counted_resolve(self, *args, **kwargs):
        counts["resolve"] += 1
        return resolve(self, *args, **kwargs)

    URLResolver._reverse_with_prefix, URLResolver.resolve = counted_reverse, counted_resolve
    try:
        assert http.get(url).status_code == 200
    finally:
        URLResolver._reverse_with_prefix, URLResolver.resolve = reverse_with_prefix, resolve
    return counts["reverse"], counts["resolve"]


def test_the_change_url_is_worked_out_once_a_page_not_once_a_row(root, make_client, make_token):
    # Django reverses each row's change URL and, on a filtered list, resolves it again to keep
    # the filters in it: a tenth of the token list's CPU time on a filtered page of 100 rows.
    client, _ = make_client()
    for _ in range(3):
        make_token(client)
    url = f"{TOKENS}?client={client.pk}&status=active"
    few = _url_work(root, url)
    for _ in range(30):
        make_token(client)
    assert _url_work(root, url) == few
    recorder.insert([recorder.build_event("token_issued", client_id=client.client_id) for _ in range(3)])
    url = f"{AUDIT}?client_id={client.client_id}"
    few = _url_work(root, url)
    recorder.insert([recorder.build_event("token_issued", client_id=client.client_id) for _ in range(30)])
    assert _url_work(root, url) == few


def _page_sql(http, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = http.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_the_page_reads_the_listed_columns_only(root, rows_of_every_kind):
    page_sql = [sql for sql in _page_sql(root, TOKENS) if '"access_token_prefix"' in sql]
    assert len(page_sql) == 1
    # Not the digests, not the client's configuration, not the user's password.
    for column in ('"access_token_digest"', '"redirect_uris"', '"password"', '"family_id"'):
        assert column not in page_sql[0]
    # (The page's other read of the log is the last verification event, shown whole.)
    page_sql = [
        sql for sql in _page_sql(root, AUDIT) if '"token_prefix"' in sql and "audit_log_verified" not in sql
    ]
    assert len(page_sql) == 1
    for column in ('"detail"', '"user_agent"', '"entry_hash"'):
        assert column not in page_sql[0]


@pytest.mark.parametrize("audit", [False, True], ids=["tokens", "audit log"])
def test_statements_do_not_grow_with_the_rows(root, make_client, make_token, end_user, audit):
    client, _ = make_client()

    def add(n: int) -> None:
        if audit:
            recorder.insert(
                [
                    recorder.build_event("token_issued", client_id=client.client_id, username="alice")
                    for _ in range(n)
                ]
            )
        else:
            for index in range(n):
                make_token(client, end_user if index % 2 else None, revoked=index % 3 == 0)

    base = AUDIT if audit else TOKENS
    urls = [base, f"{AUDIT}?client_id={client.client_id}" if audit else f"{TOKENS}?client={client.pk}"]
    add(2)
    few = [len(_page_sql(root, url)) for url in urls]
    add(40)
    assert [len(_page_sql(root, url)) for url in urls] == few
    if audit:
        assert AuditEvent.objects.filter(client_id=client.client_id).count() >= 42


def test_rows_link_as_django_does_under_a_script_prefix_that_needs_escaping(root, rows_of_every_kind):
    # reverse() keeps RFC 3986's sub-delimiters (' and & among them) as they are: a project
    # mounted at such a prefix gets change URLs that only the cell's escaping keeps well-formed.
    from django.test.utils import override_script_prefix

    with override_script_prefix("/con'sole&amp=1/"):
        for url in (TOKENS, f"{AUDIT}?event_type=token_issued"):
            response = root.get(url)
            assert response.status_code == 200, url
            cl = response.context["cl"]
            columns = admin_rows.compile_columns(cl)
            page = response.content.decode()
            assert "/con&#x27;sole&amp;amp=1/admin/" in page, url
            for obj in cl.result_list:
                assert admin_rows.row_html(columns, obj) == "".join(items_for_result(cl, obj, None)), url
