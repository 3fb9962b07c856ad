"""The clients import page with bad files, in Chromium (issue 11, item 16).

Every row error is visible as text (not behind a hover badge), the page does not grow wider than
the window, and a file without the client_id column gets a sentence, not a traceback.
"""

import pytest
from django.core.cache import cache

from tests.browser.conftest import screenshot
from tests.browser.test_content_security_policy import ViolationWatch
from tests.browser.test_operator_console import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

HEADER = "client_id,name,client_type,redirect_uris,grant_types,scope\n"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def upload(page, base: str, tmp_path, content: str) -> None:
    path = tmp_path / "clients.csv"
    path.write_text(content)
    page.goto(f"{base}/admin/server/client/import/")
    page.locator("#id_import_file").set_input_files(str(path))
    page.locator("#id_format").select_option(label="csv")
    page.get_by_role("button", name="Submit").click()


def test_every_row_error_is_visible_and_the_page_fits(live_server, page, operator, tmp_path):
    base = live_server.url
    sign_in(page, base, "/admin/server/client/import/")
    rows = "".join(
        f"row{i},{'x' * 150 if i % 2 else ''},confidential,"
        f"https://a.example.com/{'p' * 200},authorization_code,nope\n"
        for i in range(1, 7)
    )
    upload(page, base, tmp_path, HEADER + rows)
    page.get_by_role("heading", name="6 rows have errors").wait_for()
    table = page.locator("table.import-row-problems")
    assert table.locator("tbody tr").count() >= 6
    for i in range(1, 7):
        assert table.get_by_role("cell", name=str(i), exact=True).first.is_visible()
    assert page.get_by_text("A client name has 1 to 100 characters.").first.is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width
    screenshot(page, "console-import-row-errors")


def test_a_file_without_client_id_gets_a_sentence(live_server, page, operator, tmp_path):
    base = live_server.url
    sign_in(page, base, "/admin/server/client/import/")
    upload(page, base, tmp_path, "name,client_type\nWorker,confidential\n")
    page.get_by_text("The file has no client_id column").wait_for()
    assert "Traceback" not in page.content()
    screenshot(page, "console-import-missing-column")


def test_the_preview_of_a_long_file_fits_the_window(live_server, page, operator, tmp_path):
    base = live_server.url
    sign_in(page, base, "/admin/server/client/import/")
    rows = "".join(
        f"wide{i},{'Wide name ' * 8},public,https://a.example.com/{'p' * 150},authorization_code,profile\n"
        for i in range(1, 4)
    )
    upload(page, base, tmp_path, HEADER + rows)
    page.get_by_role("button", name="Confirm import").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width
    # What will be saved: a public client authenticates with "none".
    assert "none" in page.locator("table.import-preview").inner_text()
    screenshot(page, "console-import-preview-wide")


def test_the_preview_marks_new_values_without_an_inline_style(live_server, page, operator, tmp_path):
    """Before: django-import-export's diff wrote each new value as <ins style="background:…">;
    the policy (style-src 'self') blocked all of them, so the preview printed one console error
    per value and showed none of them marked."""
    base = live_server.url
    sign_in(page, base, "/admin/server/client/import/")
    watch = ViolationWatch(page)
    upload(
        page, base, tmp_path, HEADER + "fresh1,Fresh <b>app</b>,public,https://a.example.com/cb,,profile\n"
    )
    page.get_by_role("button", name="Confirm import").wait_for()
    page.wait_for_load_state("networkidle")
    assert watch.problems() == []
    marked = page.locator("table.import-preview ins", has_text="Fresh <b>app</b>")
    assert marked.count() == 1, "the new name is escaped and marked as new"
    assert marked.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    screenshot(page, "console-import-preview-marked")
