"""The Playwright fixtures (`browser`, `page`), registered once for the whole suite by
tests/conftest.py: a session fixture defined in two conftests would start a second Playwright while
the first one's event loop runs ("Playwright Sync API inside the asyncio loop"), which happens as
soon as tests/browser and tests/interop run in one process."""

import os

import pytest

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, _chromium_available


@pytest.fixture(scope="session")
def browser():
    if not _chromium_available():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium package.")
        pytest.skip("Debian's Chromium is not installed (apt-get install -y chromium).")
    # Playwright's sync API refuses to run inside an asyncio loop; Django's async-unsafe guard
    # must not trip on the test thread while the browser waits.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
