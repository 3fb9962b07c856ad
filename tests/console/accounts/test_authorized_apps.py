"""End users' authorized apps: the list, and revoking an app's access."""

import pytest
from django.utils import timezone

from server import services
from server.models import Consent, Token

pytestmark = pytest.mark.django_db

APPS = "/account/apps/"


def issue_token(client, user):
    token = {"access_token": f"oat_{Token.objects.count()}-{timezone.now().timestamp()}", "expires_in": 3600}
    return services.store_token(token, client=client, user=user, grant_type="authorization_code")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-123")


@pytest.fixture
def user_client(client, end_user):
    client.force_login(end_user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(APPS)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/apps/"


def test_lists_each_granted_app_with_scopes_and_last_use(
    user_client, end_user, bob, make_client, django_assert_max_num_queries
):
    calendar, _ = make_client("Calendar")
    notes, _ = make_client("Notes")
    unrelated, _ = make_client("Never granted")
    services.record_consent(user=end_user, client=calendar, scope="profile read")
    services.record_consent(user=end_user, client=notes, scope="email")
    services.record_consent(user=bob, client=unrelated, scope="profile")
    mine = issue_token(calendar, end_user)
    used_at = timezone.now()
    Token.objects.filter(pk=mine.pk).update(last_used_at=used_at)
    later_bobs = issue_token(calendar, bob)  # someone else's use does not count
    Token.objects.filter(pk=later_bobs.pk).update(last_used_at=used_at + timezone.timedelta(days=1))

    with django_assert_max_num_queries(4):
        response = user_client.get(APPS)

    assert response.status_code == 200
    consents = {c.client.name: c for c in response.context["consents"]}
    assert set(consents) == {"Calendar", "Notes"}
    assert consents["Calendar"].last_used == used_at
    assert consents["Notes"].last_used is None
    body = response.content.decode()
    assert "Read your data" in body  # the scope's description
    assert "See your email address" in body
    assert "Never granted" not in body


def test_a_never_used_token_counts_from_when_it_was_issued(user_client, end_user, make_client):
    client, _ = make_client("Calendar")
    services.record_consent(user=end_user, client=client, scope="profile")
    token = issue_token(client, end_user)
    consent = user_client.get(APPS).context["consents"][0]
    assert consent.last_used == token.issued_at


def test_the_list_needs_one_query_however_many_apps(
    user_client, end_user, make_client, django_assert_num_queries
):
    for n in range(5):
        client, _ = make_client(f"App {n}")
        services.record_consent(user=end_user, client=client, scope="profile")
        issue_token(client, end_user)
    # session, user, consents (with last use): no query per app.
    with django_assert_num_queries(3):
        user_client.get(APPS)


def test_revoke_asks_first_then_revokes_tokens_and_forgets_consent(user_client, end_user, bob, make_client):
    client, _ = make_client("Calendar")
    services.record_consent(user=end_user, client=client, scope="profile read")
    services.record_consent(user=bob, client=client, scope="profile")
    mine = issue_token(client, end_user)
    bobs = issue_token(client, bob)
    url = f"/account/apps/{client.client_id}/revoke/"

    confirm = user_client.get(url)
    assert confirm.status_code == 200
    assert b"Revoke access of Calendar?" in confirm.content
    assert Consent.objects.filter(user=end_user).exists()

    response = user_client.post(url)

    assert response.status_code == 302
    assert response["Location"] == APPS
    assert not Consent.objects.filter(user=end_user, client=client).exists()
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    assert mine.revoked_by == "user:alice"
    bobs.refresh_from_db()
    assert bobs.revoked_at is None  # only this user's tokens
    assert Consent.objects.filter(user=bob, client=client).exists()
    after = user_client.get(APPS)
    assert list(after.context["consents"]) == []
    assert b"Calendar can no longer use your account." in after.content


def test_revoking_an_app_i_never_granted_is_404(user_client, bob, make_client):
    client, _ = make_client("Calendar")
    services.record_consent(user=bob, client=client, scope="profile")
    url = f"/account/apps/{client.client_id}/revoke/"
    assert user_client.get(url).status_code == 404
    assert user_client.post(url).status_code == 404
    assert user_client.post("/account/apps/no-such-app/revoke/").status_code == 404
    assert Consent.objects.filter(user=bob, client=client).exists()


def test_revoke_needs_post_or_get(user_client, end_user, make_client):
    client, _ = make_client("Calendar")
    services.record_consent(user=end_user, client=client, scope="profile")
    assert user_client.delete(f"/account/apps/{client.client_id}/revoke/").status_code == 405
    assert Consent.objects.filter(user=end_user).exists()


def test_revoking_an_app_kills_its_unredeemed_codes(user_client, end_user, bob, make_client):
    """Issue 11 item 10: approve, revoke at /account/apps/, then redeem the earlier code."""
    from django.test import Client as HttpClient

    from server.models import AuthorizationCode
    from tests.server.helpers import exchange_code, get_code

    client, secret = make_client("Calendar")
    code, verifier = get_code(user_client, client.client_id, scope="profile")
    bobs_browser = HttpClient()
    bobs_browser.force_login(bob)
    bobs_code, bobs_verifier = get_code(bobs_browser, client.client_id, scope="profile")
    other_app, other_secret = make_client("Mail")
    other_code, other_verifier = get_code(user_client, other_app.client_id, scope="profile")

    response = user_client.post(f"/account/apps/{client.client_id}/revoke/")
    assert response.status_code == 302

    redeemed = exchange_code(HttpClient(), client.client_id, secret, code, verifier)
    assert redeemed.status_code == 400
    assert redeemed.json()["error"] == "invalid_grant"
    assert not Token.objects.filter(user=end_user, client=client).exists()
    # Only this user's codes for this app: bob's code and alice's code for another app still work.
    assert exchange_code(HttpClient(), client.client_id, secret, bobs_code, bobs_verifier).status_code == 200
    other = exchange_code(HttpClient(), other_app.client_id, other_secret, other_code, other_verifier)
    assert other.status_code == 200
    assert AuthorizationCode.objects.filter(user=end_user, client=client).count() == 1


def test_the_pages_are_never_kept_by_a_cache(user_client, end_user, make_client):
    """Which apps can read a person's account, and with what scopes, is theirs alone: like the
    consent page, never stored by the browser (Back after signing out on a shared computer
    showed the list) or a cache between. Both pages answered without Cache-Control before."""
    calendar, _ = make_client("Calendar")
    services.record_consent(user=end_user, client=calendar, scope="profile read")
    for path in (APPS, f"{APPS}{calendar.client_id}/revoke/"):
        response = user_client.get(path)
        assert response.status_code == 200
        assert "no-store" in response.get("Cache-Control", ""), (path, response.get("Cache-Control"))
