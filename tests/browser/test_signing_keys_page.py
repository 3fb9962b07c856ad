"""The signing-key page, end to end in Chromium against the live server.

An operator opens the keys, rotates now through the confirmation page (the next key signs, the
active one is retired, a new next key is published: the JWKS agrees), then revokes a key by
typing the start of its kid and a reason (the JWKS drops it at once), and finds both changes
in the audit log. Screenshots: test-artifacts/keys-*.png (copied to docs/screenshots/signing-keys/).
"""

import pytest
import requests
from django.core.cache import cache

from server import services
from server.actors import Actor
from server.models import SigningKey
from tests.browser.conftest import screenshot
from tests.browser.test_operator_console import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]

ACTOR = Actor.system("tests")


@pytest.fixture(autouse=True)
def plain_http(settings, monkeypatch):
    settings.OAUTH2_REQUIRE_HTTPS = False
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    cache.clear()


def published_kids(base_url: str) -> set[str]:
    response = requests.get(f"{base_url}/oauth/jwks", timeout=10)
    assert response.status_code == 200
    return {key["kid"] for key in response.json()["keys"]}


def test_rotate_now_and_revoke_through_the_page(live_server, page, operator):
    base = live_server.url
    first = services.signing_key_for("RS256")  # what the first ID token would make
    upcoming = services.create_signing_key(actor=ACTOR)  # a scheduled rotation's next key
    services.signing_key_for("ES256")

    sign_in(page, base, "/admin/server/signingkey/")
    page.get_by_role("heading", name="Signing keys").wait_for()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3
    assert "active (signing)" in rows.nth(0).inner_text()
    assert page.locator(".key-state-next").count() == 1
    screenshot(page, "keys-01-list")

    # Rotate now: the confirmation page says what will happen, per algorithm; the GET changes nothing.
    page.get_by_role("link", name="Rotate now…").click()
    page.get_by_role("heading", name="Rotate the signing keys now?").wait_for()
    rs256 = page.locator(".rotation-plan[data-alg=RS256]")
    assert f"The next key {upcoming.kid} starts signing RS256 ID tokens at once." in rs256.inner_text()
    assert f"The active key {first.kid} is retired" in rs256.inner_text()
    page.get_by_label("Algorithm").select_option("RS256")
    screenshot(page, "keys-02-rotate-confirm")
    assert SigningKey.objects.get(pk=upcoming.pk).state == "next"
    page.get_by_role("button", name="Rotate now").click()

    page.get_by_text("Signing keys rotated.").wait_for()
    assert SigningKey.objects.get(pk=upcoming.pk).state == "active"
    assert SigningKey.objects.get(pk=first.pk).state == "retired"
    newest = SigningKey.objects.get(alg="RS256", state="next")
    assert {first.kid, upcoming.kid, newest.kid} <= published_kids(base)  # retired stays published
    assert page.locator(".key-state-retired").count() == 1
    screenshot(page, "keys-03-rotated")

    # Revoke the retired key: a typed confirmation, a reason; unpublished at once.
    page.locator("#result_list tbody tr", has_text=first.kid).get_by_role("link", name="Revoke…").click()
    page.get_by_role("heading", name=f"Revoke the RS256 signing key {first.kid}?").wait_for()
    assert "This cannot be undone." in page.content()
    page.get_by_label("Reason").fill("private key found in an old backup")
    page.get_by_label("Type the first 8 characters of the key id to confirm").fill("wrong-id")
    page.get_by_role("button", name="Revoke this key").click()
    page.get_by_text("That is not the beginning of this key's id.").wait_for()
    assert SigningKey.objects.get(pk=first.pk).state == "retired"
    page.get_by_label("Type the first 8 characters of the key id to confirm").fill(first.kid[:8])
    screenshot(page, "keys-04-revoke-confirm")
    page.get_by_role("button", name="Revoke this key").click()

    page.get_by_text(f"Revoked the RS256 key {first.kid}").wait_for()
    assert SigningKey.objects.get(pk=first.pk).state == "revoked"
    assert first.kid not in published_kids(base)
    events = page.locator(".key-events")
    assert "Signing key revoked" in events.inner_text() and "private key found" in events.inner_text()
    screenshot(page, "keys-05-revoked")

    # Every change reached the audit log, by this operator.
    page.get_by_role("link", name="Key events in the audit log").click()
    page.locator("#result_list").wait_for()
    log = page.locator("#result_list").inner_text()
    assert "Signing key revoked" in log and "Signing key activated" in log
    assert "root" in log
    screenshot(page, "keys-06-audit-log")
    assert page.locator("#result_list").inner_text().count("Signing key") >= 5
