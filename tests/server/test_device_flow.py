"""The device authorization grant (RFC 8628) over HTTP: the device's requests, the person's page,
the polls and their every answer."""

import re
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from oauth_console.audit.models import AuditEvent, EventType
from server import credentials
from server.models import Client, Consent, DeviceAuthorization, Token
from server.oauth2.device import DEVICE_CODE_GRANT_TYPE, USER_CODE_ALPHABET
from tests.ids import plain_id
from tests.server.device_helpers import DEVICE_GRANTS, decide, enter_code, poll, start
from tests.server.helpers import basic_auth

pytestmark = pytest.mark.django_db

USER_CODE = re.compile(f"^[{USER_CODE_ALPHABET}]{{4}}-[{USER_CODE_ALPHABET}]{{4}}$")


@pytest.fixture
def tv(make_client):
    """A confidential device client (no redirect URI needed)."""
    return make_client("Living-room TV", redirect_uris=[], grant_types=DEVICE_GRANTS)


@pytest.fixture
def cli(make_client):
    """A public device client: it names its client_id, no secret."""
    return make_client(
        "Command line", client_type=Client.Type.PUBLIC, redirect_uris=[], grant_types=DEVICE_GRANTS
    )


@pytest.fixture
def browser(end_user):
    http = HttpClient()
    http.force_login(end_user)
    return http


def events_of(kind: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=kind).order_by("id"))


# --- the whole flow ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the refusals' audit events are written on commit
@pytest.mark.parametrize("which", ["tv", "cli"])
def test_the_whole_flow_gives_one_token_for_the_scope_the_person_saw(which, request, browser, end_user):
    app = request.getfixturevalue(which)
    http = HttpClient()
    answer = start(http, app, scope="profile email")
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert USER_CODE.match(body["user_code"])
    assert body["device_code"].startswith("odc_")
    assert body["verification_uri"] == "http://testserver/device"
    assert body["verification_uri_complete"] == f"http://testserver/device?user_code={body['user_code']}"
    assert body["expires_in"] == 600 and body["interval"] == 5

    assert poll(http, app, body["device_code"]).json()["error"] == "authorization_pending"

    page = enter_code(browser, body["user_code"])
    assert page.status_code == 200
    text = page.content.decode()
    assert app[0].name in text and body["user_code"] in text
    assert "See your email address" in text and "See your user name" in text
    assert page["X-Frame-Options"] == "DENY"
    done = decide(browser, page, allow=True)
    assert done.status_code == 200 and "Device connected" in done.content.decode()

    token = poll(http, app, body["device_code"])
    assert token.status_code == 200, token.content
    issued = token.json()
    assert issued["scope"] == "profile email" and issued["refresh_token"]
    row = Token.objects.get()
    assert row.grant_type == DEVICE_CODE_GRANT_TYPE and row.user == end_user and row.client == app[0]
    me = http.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}")
    assert me.status_code == 200 and me.json()["user"]["username"] == "alice"
    # Remembered as a consent, as on /oauth/authorize: the person's authorized apps list it.
    assert Consent.objects.get(user=end_user, client=app[0]).scope == "profile email"
    # The audit log: requested, approved (by the person), the token (by the client).
    assert len(events_of(EventType.DEVICE_AUTHORIZATION_REQUESTED)) == 1
    [approved] = events_of(EventType.DEVICE_AUTHORIZATION_APPROVED)
    assert approved.username == "alice" and approved.detail["scope"] == "profile email"
    [issued_event] = events_of(EventType.TOKEN_ISSUED)
    assert issued_event.detail["grant_type"] == DEVICE_CODE_GRANT_TYPE
    # Waiting was not a refusal: no token_refused event for the pending poll; a replay is one.
    assert events_of(EventType.TOKEN_REFUSED) == []
    assert poll(http, app, body["device_code"]).status_code == 400
    [refused] = events_of(EventType.TOKEN_REFUSED)
    assert refused.detail["error"] == "invalid_grant"


def test_codes_are_stored_only_as_digests(tv):
    body = start(HttpClient(), tv).json()
    row = DeviceAuthorization.objects.get()
    assert row.device_code_digest == credentials.digest(body["device_code"])
    assert row.user_code_digest == credentials.digest(body["user_code"].replace("-", ""))
    stored = " ".join(str(value) for value in DeviceAuthorization.objects.values().get().values())
    assert body["device_code"] not in stored and body["user_code"].replace("-", "") not in stored
    assert body["user_code"] not in str(AuditEvent.objects.values_list("detail", flat=True)[::1])


def test_no_scope_named_gets_the_default_scopes_the_client_may_have(tv, browser):
    http = HttpClient()
    body = start(http, tv).json()
    assert DeviceAuthorization.objects.get().scope == "profile"
    decide(browser, enter_code(browser, body["user_code"]), allow=True)
    assert poll(http, tv, body["device_code"]).json()["scope"] == "profile"


def test_a_scope_the_client_may_not_have_is_invalid_scope(tv):
    answer = start(HttpClient(), tv, scope="profile write")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"
    assert DeviceAuthorization.objects.count() == 0


def test_a_client_without_the_grant_is_unauthorized_client(make_client):
    app = make_client("Web app")
    answer = start(HttpClient(), app)
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"
    assert DeviceAuthorization.objects.count() == 0


def test_client_authentication_is_the_token_endpoints(tv, cli):
    http = HttpClient()
    client, _secret = tv
    wrong = start(http, (client, "ocs_wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    # A confidential client naming only its client_id did not authenticate.
    assert start(http, (client, None)).json()["error"] == "invalid_client"
    assert start(http, (cli[0], "made-up")).json()["error"] == "invalid_client"
    assert http.get("/oauth/device_authorization").status_code in (400, 405)
    assert DeviceAuthorization.objects.count() == 0


# --- the polls -----------------------------------------------------------------------------------


def test_polling_too_fast_is_slow_down_and_adds_five_seconds_each_time(tv, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    http = HttpClient()
    code = start(http, tv).json()["device_code"]
    assert poll(http, tv, code).json()["error"] == "authorization_pending"
    assert poll(http, tv, code).json()["error"] == "slow_down"
    # The interval is now 10 s (the pacing is in the shared cache, not the row: one SELECT a poll).
    time_machine.shift(9)
    assert poll(http, tv, code).json()["error"] == "slow_down"
    # 15 s from this poll.
    time_machine.shift(15)
    assert poll(http, tv, code).json()["error"] == "authorization_pending"
    time_machine.shift(14)
    assert poll(http, tv, code).json()["error"] == "slow_down"
    time_machine.shift(20)
    assert poll(http, tv, code).json()["error"] == "authorization_pending"


def test_an_expired_device_code_is_expired_token(tv, browser, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    http = HttpClient()
    body = start(http, tv).json()
    time_machine.shift(601)
    answer = poll(http, tv, body["device_code"])
    assert answer.status_code == 400 and answer.json()["error"] == "expired_token"
    # And the person can no longer approve it.
    page = enter_code(browser, body["user_code"])
    assert page.status_code == 400 and "not valid, or it has expired" in page.content.decode()


def test_approval_after_the_device_gave_up_gives_nothing(tv, browser, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    http = HttpClient()
    body = start(http, tv).json()
    page = enter_code(browser, body["user_code"])
    time_machine.shift(601)
    done = decide(browser, page, allow=True)
    assert done.status_code == 400 and "no longer waiting" in done.content.decode()
    assert poll(http, tv, body["device_code"]).json()["error"] == "expired_token"
    assert Token.objects.count() == 0


def test_denial_is_access_denied_on_every_later_poll(tv, browser):
    http = HttpClient()
    body = start(http, tv).json()
    done = decide(browser, enter_code(browser, body["user_code"]), allow=False)
    assert "Access denied" in done.content.decode()
    for _ in range(2):
        answer = poll(http, tv, body["device_code"])
        assert answer.status_code == 400 and answer.json()["error"] == "access_denied"
    assert Token.objects.count() == 0
    assert len(events_of(EventType.DEVICE_AUTHORIZATION_DENIED)) == 1
    assert not Consent.objects.exists()


@pytest.mark.parametrize(
    "decision",
    [{"confirm": "no"}, {"confirm": "0"}, {"confirm": ""}, {"confirm": "yes", "deny": "yes"}, {}],
    ids=plain_id,
)
def test_anything_but_the_allow_buttons_value_denies_the_device(tv, browser, decision):
    """The device page shares the consent form: only its Allow button's exact value approves
    (any non-empty `confirm` did); anything else does what Deny does."""
    http = HttpClient()
    body = start(http, tv).json()
    page = enter_code(browser, body["user_code"])
    device_id = page.content.decode().split('name="device_authorization" value="')[1].split('"')[0]
    done = browser.post("/device", {"device_authorization": device_id, **decision})
    assert "Access denied" in done.content.decode()
    answer = poll(http, tv, body["device_code"])
    assert answer.status_code == 400 and answer.json()["error"] == "access_denied"
    assert Token.objects.count() == 0
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.Status.DENIED
    assert not Consent.objects.exists()


def test_a_device_code_gives_one_token_only(tv, browser):
    http = HttpClient()
    body = start(http, tv).json()
    decide(browser, enter_code(browser, body["user_code"]), allow=True)
    assert poll(http, tv, body["device_code"]).status_code == 200
    again = poll(http, tv, body["device_code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert Token.objects.count() == 1


def test_of_two_concurrent_redemptions_one_wins(tv, browser):
    from server import services

    http = HttpClient()
    body = start(http, tv).json()
    decide(browser, enter_code(browser, body["user_code"]), allow=True)
    # Both polls read the approved row before either claimed it.
    first = DeviceAuthorization.objects.get()
    second = DeviceAuthorization.objects.get()
    assert services.redeem_device_authorization(first) is True
    assert services.redeem_device_authorization(second) is False


def test_a_client_cannot_redeem_another_clients_device_code(tv, cli, make_client, browser):
    http = HttpClient()
    body = start(http, tv).json()
    decide(browser, enter_code(browser, body["user_code"]), allow=True)
    other = make_client("Other TV", redirect_uris=[], grant_types=DEVICE_GRANTS)
    for thief in (other, cli):
        answer = poll(http, thief, body["device_code"])
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert poll(http, tv, body["device_code"]).status_code == 200


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"device_code": "odc_made_up"}, "invalid_grant"),
        ({"device_code": "x" * 600}, "invalid_grant"),
    ],
)
def test_a_missing_or_unknown_device_code(tv, data, error):
    http = HttpClient()
    start(http, tv)
    answer = poll(http, tv, data.pop("device_code", ""), **data)
    assert answer.status_code == 400 and answer.json()["error"] == error


def test_a_client_that_lost_the_grant_cannot_poll(tv):
    from server import services
    from server.actors import Actor

    http = HttpClient()
    code = start(http, tv).json()["device_code"]
    services.update_client(
        Client.objects.get(), actor=Actor.system("tests"), grant_types=["client_credentials"]
    )
    assert poll(http, tv, code).json()["error"] == "unauthorized_client"


def test_a_user_deactivated_after_approving_gets_no_token(tv, browser, end_user):
    http = HttpClient()
    body = start(http, tv).json()
    decide(browser, enter_code(browser, body["user_code"]), allow=True)
    end_user.is_active = False
    end_user.save()
    answer = poll(http, tv, body["device_code"])
    assert answer.status_code == 400 and Token.objects.count() == 0


def test_withdrawing_consent_denies_an_approved_device_not_yet_collected(tv, browser, end_user):
    from server import services
    from server.actors import Actor

    http = HttpClient()
    body = start(http, tv).json()
    decide(browser, enter_code(browser, body["user_code"]), allow=True)
    services.revoke_consent(user=end_user, client=tv[0], actor=Actor.user(end_user))
    assert poll(http, tv, body["device_code"]).json()["error"] == "access_denied"


# --- metadata ------------------------------------------------------------------------------------


def test_metadata_names_the_endpoint_and_the_grant():
    metadata = HttpClient().get("/.well-known/oauth-authorization-server").json()
    assert metadata["device_authorization_endpoint"] == "http://testserver/oauth/device_authorization"
    assert DEVICE_CODE_GRANT_TYPE in metadata["grant_types_supported"]
    oidc = HttpClient().get("/.well-known/openid-configuration").json()
    assert oidc["device_authorization_endpoint"] == metadata["device_authorization_endpoint"]


def test_cleartokens_removes_device_authorizations_an_hour_past_expiry(tv):
    from server import services

    start(HttpClient(), tv)
    start(HttpClient(), tv)
    DeviceAuthorization.objects.filter(pk=DeviceAuthorization.objects.first().pk).update(
        expires_at=timezone.now() - timedelta(hours=2)
    )
    services.clear_expired_tokens()
    assert DeviceAuthorization.objects.count() == 1


def test_the_request_is_parsed_as_the_token_endpoints_but_may_be_empty(tv, cli):
    http = HttpClient()
    client, secret = tv
    auth = {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}
    # No parameter at all (a confidential client, the default scope): no content type needed.
    assert http.generic("POST", "/oauth/device_authorization", **auth).status_code == 200
    multipart = http.post("/oauth/device_authorization", {"scope": "profile"}, **auth)
    assert multipart.status_code == 400 and multipart.json()["error"] == "invalid_request"
    as_json = http.post(
        "/oauth/device_authorization", '{"scope": "profile"}', content_type="application/json", **auth
    )
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    in_query = http.post(f"/oauth/device_authorization?client_id={cli[0].client_id}", "", content_type="x/y")
    assert in_query.status_code == 400 and in_query.json()["error"] == "invalid_request"
    repeated = http.post(
        "/oauth/device_authorization",
        "scope=profile&scope=email",
        content_type="application/x-www-form-urlencoded",
        **auth,
    )
    assert repeated.status_code == 400 and repeated.json()["error"] == "invalid_request"
    assert DeviceAuthorization.objects.count() == 1
