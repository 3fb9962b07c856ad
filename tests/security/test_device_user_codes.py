"""The device verification page (/device) against guessing and hostile input (RFC 8628 §5.1,
§5.2, §5.4): sign-in required, codes normalised but never stretched, guesses rate-limited per
address and per user and audited, a decision only for the device whose code this session typed."""

import re

import pytest
from django.test import Client as HttpClient

from oauth_console.audit.models import AuditEvent, EventType
from server.models import DeviceAuthorization
from server.oauth2.device import format_user_code, generate_user_code, normalize_user_code
from tests.server.device_helpers import DEVICE_GRANTS, decide, enter_code, hidden_device_id, poll, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def tv(make_client):
    return make_client("Living-room TV", redirect_uris=[], grant_types=DEVICE_GRANTS)


@pytest.fixture
def browser(end_user):
    http = HttpClient()
    http.force_login(end_user)
    return http


@pytest.fixture
def device(tv):
    return start(HttpClient(), tv).json()


# Events that report no write (a refused code, a throttle) reach the log when the request's
# transaction commits: these tests commit.
AUDITED = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code,
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: f" {code.replace('-', '').lower()} ",
        lambda code: code.replace("-", " "),
    ],
)
def test_a_code_is_accepted_however_it_is_typed(typed, device, browser):
    page = enter_code(browser, typed(device["user_code"]))
    assert page.status_code == 200 and "Living-room TV" in page.content.decode()


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "BCDF-GHJ",  # too short
        "BCDF-GHJKL",  # too long
        "BCDA-EIOU",  # vowels are not in the alphabet
        "BCD1-GHJK",  # nor digits
        "\uff22\uff23\uff24\uff26-\uff27\uff28\uff2a\uff2b",  # full-width look-alikes stay out
        "BCDF\u200b-GHJK",  # a zero-width space
        "BCDF-GHJK\x00",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "B" * 10_000,
        "%s%s%n",
    ],
)
@AUDITED
def test_hostile_codes_are_a_clear_400_and_audited(typed, device, browser):
    page = enter_code(browser, typed)
    assert page.status_code == 400
    text = page.content.decode()
    assert "not valid, or it has expired" in text
    assert "<script>alert" not in text
    [refused] = AuditEvent.objects.filter(event_type=EventType.USER_CODE_REFUSED)
    assert refused.username == "alice" and refused.detail == {"reason": "malformed"}


def test_normalisation_never_maps_other_scripts_onto_the_alphabet():
    assert normalize_user_code("bcdf-ghjk") == "BCDFGHJK"
    assert normalize_user_code("\u0392CDF-GHJK") is None  # a Greek capital beta
    assert normalize_user_code(None) is None
    assert normalize_user_code(["BCDFGHJK"]) is None
    for _ in range(200):
        code = generate_user_code()
        assert normalize_user_code(format_user_code(code)) == code


@AUDITED
def test_an_unknown_well_formed_code_is_refused_as_unknown(device, browser):
    page = enter_code(browser, "BBBB-BBBB" if device["user_code"] != "BBBB-BBBB" else "CCCC-CCCC")
    assert page.status_code == 400
    assert AuditEvent.objects.get(event_type=EventType.USER_CODE_REFUSED).detail == {"reason": "unknown"}


def test_the_page_needs_a_signed_in_person(device):
    anonymous = HttpClient()
    page = anonymous.get(f"/device?user_code={device['user_code']}")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/?next=/device")
    posted = anonymous.post("/device", {"user_code": device["user_code"]})
    assert posted.status_code == 302
    assert DeviceAuthorization.objects.get().status == "pending"


def test_the_complete_uri_prefills_but_never_submits(device, browser):
    page = browser.get(f"/device?user_code={device['user_code']}")
    text = page.content.decode()
    assert page.status_code == 200 and f'value="{device["user_code"]}"' in text
    assert "Living-room TV" not in text  # nothing looked up before the person presses Continue
    hostile = browser.get('/device?user_code="><script>alert(1)</script>').content.decode()
    assert "<script>alert(1)" not in hostile and 'value=""' in hostile


@AUDITED
def test_guessing_is_limited_per_user_and_audited(device, browser, settings):
    settings.OAUTH2_RATE_LIMITS = {"user_code_user": "3/900", "user_code_ip": "100/900"}
    for _ in range(3):
        assert enter_code(browser, "BBBB-CCCC").status_code == 400
    throttled = enter_code(browser, device["user_code"])  # even the right code, once over the limit
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert "Too many code attempts" in throttled.content.decode()
    throttle = AuditEvent.objects.get(event_type=EventType.REQUEST_THROTTLED)
    assert throttle.detail["scope"] == "device" and throttle.detail["limit"] == "user_code_user"
    # The guesser's address, and no client: the person typing is not acting for one.
    assert (throttle.detail["ip"], throttle.ip_address, throttle.client_id) == ("127.0.0.1", "127.0.0.1", "")
    assert AuditEvent.objects.filter(event_type=EventType.USER_CODE_REFUSED).count() == 3


def test_guessing_is_limited_per_address_across_accounts(device, django_user_model, settings):
    settings.OAUTH2_RATE_LIMITS = {"user_code_user": "100/900", "user_code_ip": "4/900"}
    for n in range(2):
        person = HttpClient()
        person.force_login(django_user_model.objects.create_user(f"guesser{n}", password="x-long-password-1"))
        for _ in range(2):
            assert enter_code(person, "BBBB-CCCC").status_code == 400
    late = HttpClient()
    late.force_login(django_user_model.objects.create_user("late", password="x-long-password-1"))
    assert enter_code(late, device["user_code"]).status_code == 429


def test_right_codes_do_not_use_up_the_limit(tv, browser, settings):
    settings.OAUTH2_RATE_LIMITS = {"user_code_user": "2/900"}
    for _ in range(4):
        code = start(HttpClient(), tv).json()["user_code"]
        assert enter_code(browser, code).status_code == 200


def test_a_decision_names_only_a_device_this_session_typed_the_code_of(
    tv, device, browser, django_user_model
):
    other = start(HttpClient(), tv).json()
    page = enter_code(browser, device["user_code"])
    mine = hidden_device_id(page)
    theirs = str(DeviceAuthorization.objects.exclude(pk=int(mine)).get().pk)
    forged = browser.post("/device", {"device_authorization": theirs, "confirm": "yes"})
    assert forged.status_code == 400
    for value in ("", "abc", "\u0661", "9" * 40, "-1"):
        assert browser.post("/device", {"device_authorization": value, "confirm": "yes"}).status_code == 400
    # Another person's session cannot answer for the page this one opened.
    stranger = HttpClient()
    stranger.force_login(django_user_model.objects.create_user("mallory", password="x-long-password-1"))
    assert stranger.post("/device", {"device_authorization": mine, "confirm": "yes"}).status_code == 400
    assert set(DeviceAuthorization.objects.values_list("status", flat=True)) == {"pending"}
    # The real decision still works, once.
    assert decide(browser, page, allow=True).status_code == 200
    assert decide(browser, page, allow=True).status_code == 400
    assert poll(HttpClient(), tv, other["device_code"]).json()["error"] == "authorization_pending"


def test_the_consent_form_is_csrf_protected(device, end_user):
    strict = HttpClient(enforce_csrf_checks=True)
    strict.force_login(end_user)
    assert strict.post("/device", {"user_code": device["user_code"]}).status_code == 403


def test_a_disabled_clients_device_cannot_be_approved(tv, device, browser):
    from server import services
    from server.actors import Actor

    page = enter_code(browser, device["user_code"])
    services.set_client_status(tv[0], "disabled", actor=Actor.system("tests"), reason="abuse")
    assert decide(browser, page, allow=True).status_code == 400
    assert enter_code(browser, device["user_code"]).status_code == 400
    assert DeviceAuthorization.objects.get().status == "pending"


def test_the_consent_page_shows_the_code_this_person_typed(device, browser):
    """RFC 8628 §5.4: the page repeats the code, formatted, for the person to compare with the
    one on the device; it says nothing about where a browser would be sent back to."""
    typed = device["user_code"].replace("-", "").lower()
    page = enter_code(browser, typed).content.decode()
    assert re.search(rf'id="device-user-code">{re.escape(device["user_code"])}<', page)
    assert 'id="redirect-host"' not in page


def test_a_device_scope_split_by_a_unicode_space_is_invalid_scope(tv):
    """RFC 6749 §3.3 at the device authorization endpoint (RFC 8628 §3.1): a no-break space is
    no separator, so "profile<NBSP>read" is one malformed scope, never two."""
    answer = start(HttpClient(), tv, scope="profile\u00a0read")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"
    assert not DeviceAuthorization.objects.exists()
