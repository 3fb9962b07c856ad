"""mozilla-django-oidc, a relying party no one here wrote, signs a person in through our provider.

Chromium (Playwright) is the person's browser: they click "sign in" on the RP
(tests/interop/rp_project, its own process and port), sign in on ours, approve the consent page,
and land back on the RP signed in as themselves. The library does the rest as it does against
any provider: PKCE, nonce, the code exchange (client_secret_post), the ID token's RS256
signature against our JWKS, UserInfo for the email it matches users on.
"""

import pytest

from tests.browser.conftest import screenshot
from tests.interop.conftest import PASSWORD, RENEW_SECONDS

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.django_db(transaction=True)]


def sign_in_on_the_provider(page, op_url: str) -> None:
    page.wait_for_url(op_url + "/accounts/login/**")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_person_signs_in_to_the_rp_through_our_provider_then_again_without_consent(
    page, op, mozilla_rp, alice
):
    page.goto(mozilla_rp.url + "/")
    page.get_by_role("link", name="Sign in with oauth-console").click()
    sign_in_on_the_provider(page, op.url)

    page.wait_for_url(op.url + "/oauth/authorize**")
    assert page.locator("#redirect-host").inner_text() == mozilla_rp.url.removeprefix("http://")
    screenshot(page, "interop-mozilla-rp-consent")
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(mozilla_rp.url + "/", timeout=20_000)
    screenshot(page, "interop-mozilla-rp-signed-in")
    assert page.locator("#failed").count() == 0, mozilla_rp.log.read_text()[-3000:]
    assert page.locator("#email").inner_text() == "alice@example.com"
    assert page.locator("#sub").inner_text() == str(alice.pk)

    # Once its ID token is older than RENEW_SECONDS, the RP's SessionRefresh middleware sends
    # the browser to us with prompt=none: signed in and consented, it comes straight back.
    answers = []

    def record(response):
        answers.append((response.status, response.url))

    page.on("response", record)
    page.wait_for_timeout(RENEW_SECONDS * 1000 + 300)
    page.goto(mozilla_rp.url + "/")
    page.wait_for_url(mozilla_rp.url + "/")
    assert [s for s, u in answers if u.startswith(op.url + "/oauth/authorize") and "prompt=none" in u] == [
        302
    ]
    assert any(u.startswith(mozilla_rp.url + "/oidc/callback/?code=") for _, u in answers), answers
    assert page.locator("#sub").inner_text() == str(alice.pk)

    # Signed out of the provider only (its cookies gone; the browser keeps cookies per host, so
    # the RP's on 127.0.0.1 stay), the next silent renewal gets login_required, with the RP's
    # state, and the RP signs the person out.
    page.context.clear_cookies(domain="localhost")
    answers.clear()
    page.wait_for_timeout(RENEW_SECONDS * 1000 + 300)
    page.goto(mozilla_rp.url + "/")
    page.wait_for_url(mozilla_rp.url + "/?failed=1")
    callbacks = [u for _, u in answers if u.startswith(mozilla_rp.url + "/oidc/callback/")]
    assert len(callbacks) == 1 and "error=login_required" in callbacks[0] and "state=" in callbacks[0]
    assert page.locator("#failed").count() == 1 and page.locator("#sign-in").count() == 1
    page.remove_listener("response", record)

    # The person signs in again. The consent is remembered, so the sign-in form's submission
    # ends in redirects to /oauth/authorize and on to the RP's callback: the sign-in page's CSP
    # form-action must allow that last hop (Chromium applies form-action to every redirect
    # after a form submission).
    page.get_by_role("link", name="Sign in with oauth-console").click()
    sign_in_on_the_provider(page, op.url)
    page.wait_for_url(mozilla_rp.url + "/", timeout=20_000)
    assert page.locator("#failed").count() == 0, mozilla_rp.log.read_text()[-3000:]
    assert page.locator("#sub").inner_text() == str(alice.pk)
