"""Tests written to kill the mutants `make mutation` found surviving in server/ratelimit/.

Each test names the mutants it kills (mutmut's names, see docs/testing.md); the survivors that no
test should kill are explained in tests/mutation_survivors.txt.
"""

import base64
import logging

import pytest
from django.test import RequestFactory

from server import ratelimit, signals
from server.actors import Actor
from server.ratelimit import clients, counters, responses

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


# --- the cache-outage guard ---------------------------------------------------------------------


def test_a_new_guard_is_available_and_a_failure_makes_it_unavailable_once(caplog):
    """Kills counters.xǁ_CacheGuardǁ__init____mutmut_1 (no start time) and _3 (no lock)."""
    guard = counters._CacheGuard()
    assert guard.available is True
    with caplog.at_level(logging.WARNING, logger="server.ratelimit"):
        guard.failed(RuntimeError("first"))
        assert guard.available is False
        guard.failed(RuntimeError("second"))
    messages = [r.getMessage() for r in caplog.records if r.name == "server.ratelimit"]
    assert messages == [
        "rate limiting skipped: the cache is unavailable (RuntimeError: first); requests are allowed"
    ]
    guard.reset()
    assert guard.available is True


@pytest.fixture
def broken_counter(monkeypatch):
    """`count` fails as a cache that went away would; the guard is reset after the test."""

    def count(*args, **kwargs):
        raise ConnectionRefusedError("the cache went away")

    monkeypatch.setattr(ratelimit, "count", count)
    yield
    ratelimit.cache_guard.reset()


def test_a_sign_up_during_a_cache_outage_is_allowed_and_the_error_is_logged(
    settings, broken_counter, client, caplog
):
    """Kills server.ratelimit.x_throttle_form_post__mutmut_17 (the exception not passed on)."""
    settings.PORTAL_SELF_SIGNUP = True
    data = {
        "username": "newdev",
        "email": "new@example.com",
        "password1": "a-Long-pass-phrase-42",
        "password2": "a-Long-pass-phrase-42",
    }
    with caplog.at_level(logging.WARNING, logger="server.ratelimit"):
        response = client.post("/developers/signup/", data, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302
    messages = [r.getMessage() for r in caplog.records if r.name == "server.ratelimit"]
    assert messages == [
        "rate limiting skipped: the cache is unavailable (ConnectionRefusedError: the cache went away); "
        "requests are allowed"
    ]
    assert ratelimit.cache_guard.available is False


# --- rates, windows and counter keys ------------------------------------------------------------


def test_rate_parsing_edges():
    """Kills counters.xǁRateǁparse mutants: the words for "no limit", the default window, the
    positive-count and positive-window checks."""
    parse = counters.Rate.parse
    for off in ("", None, "0", "off", " OFF ", "none", "None"):
        assert parse(off) is None, off
    assert parse("30") == counters.Rate(30, 1)
    assert parse(" 5/60 ") == counters.Rate(5, 60)
    assert parse("1/1") == counters.Rate(1, 1)
    for bad in ("0/60", "5/0", "-1/60", "5/-1"):
        with pytest.raises(ValueError, match="a rate needs a positive count and window"):
            parse(bad)


def test_windows_are_fixed_and_the_wait_is_rounded_up():
    """Kills counters.x_window mutants: the window's start and the seconds left (at least 1)."""
    rate = counters.Rate(3, 60)
    assert counters.window(rate, 3600.0) == (3600, 60)
    assert counters.window(rate, 3601.0) == (3600, 59)
    assert counters.window(rate, 3659.5) == (3600, 1)
    assert counters.window(rate, 3659.999) == (3600, 1)
    assert counters.window(counters.Rate(1, 3600), 7199.0) == (3600, 1)


def test_counter_keys_are_hashed_known_answers():
    """Kills counters.x_key and x_counter_key mutants: the separator, the digest's length, the parts."""
    rate = counters.Rate(3, 60)
    # SHA-256("token_ip" NUL "10.0.0.1" NUL "60" NUL "3600"), first 32 hex digits.
    expected = "ratelimit:token_ip:df814950006484360feeee43885365c7"
    assert counters.key("token_ip", "10.0.0.1", "60", "3600") == expected
    assert counters.counter_key("token_ip", "10.0.0.1", rate, 3601.5) == expected
    assert counters.counter_key("token_ip", "10.0.0.1", rate, 3660.0) != expected
    # A lone surrogate (from a badly decoded header) still makes a key.
    assert (
        counters.key("login_username", "\udcff")
        == "ratelimit:login_username:247afd28be808be912108c23b22b6b15"
    )


class RecordingCache:
    """A cache with nothing in it that records how counters are created."""

    def __init__(self):
        self.added = []

    def incr(self, key):
        raise ValueError(key)

    def add(self, key, value, timeout):
        self.added.append((key, value, timeout))
        return True


def test_a_counter_lives_one_second_longer_than_its_window(monkeypatch, limits_for_units):
    """Kills counters.x_count mutants on the counter's lifetime and counters.x__increment mutants
    on its first value."""
    fake = RecordingCache()
    monkeypatch.setattr(counters, "cache", lambda: fake)
    counted = []
    assert counters.count("token_ip", "10.0.0.1", 3601.0, counted=counted) is None
    assert fake.added == [(counters.counter_key("token_ip", "10.0.0.1", counters.Rate(2, 1), 3601.0), 1, 2)]
    assert counted == [fake.added[0][0]]


def test_nothing_is_counted_without_an_identity_or_a_rate(monkeypatch, limits_for_units):
    """Kills counters.x_count mutants on `rate is None or not identity`."""
    fake = RecordingCache()
    monkeypatch.setattr(counters, "cache", lambda: fake)
    assert counters.count("token_ip", "", 3601.0) is None
    assert counters.count("not_a_configured_rate", "10.0.0.1", 3601.0) is None
    assert fake.added == []


@pytest.fixture
def limits_for_units(settings):
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "token_ip": "2/1"}
    settings.OAUTH2_RATE_LIMITS.pop("not_a_configured_rate", None)


# --- a throttled sign-up: what is announced and what the person sees -----------------------------


def test_a_throttled_sign_up_is_announced_and_shown_as_the_page_of_that_request(settings, client):
    """Kills server.ratelimit.x_throttle_form_post__mutmut_20 to _37: the Throttle's fields, the
    signal's request and sender, and the 429 page rendered for the request (its navigation)."""
    settings.PORTAL_SELF_SIGNUP = True
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "signup_ip": "1/3600"}
    seen = []

    def receiver(sender, **kwargs):
        seen.append((sender, kwargs))

    signals.request_throttled.connect(receiver, dispatch_uid="test-signup-throttled")
    try:
        data = {"username": "probe", "email": "p@example.com", "password1": "short", "password2": "short"}
        assert client.post("/developers/signup/", data, REMOTE_ADDR="10.0.0.9").status_code == 200
        response = client.post("/developers/signup/", data, REMOTE_ADDR="10.0.0.9")
    finally:
        signals.request_throttled.disconnect(dispatch_uid="test-signup-throttled")
    assert response.status_code == 429
    assert b"Too many sign-up attempts" in response.content
    # responses.x_throttled_response__mutmut_4: the page says how long to wait.
    assert f"Please wait about {response['Retry-After']} second".encode() in response.content
    assert b'aria-current="page" href="/developers/"' in response.content
    [(sender, sent)] = seen
    assert sender is ratelimit.RateLimitMiddleware
    assert sent["request"].path == "/developers/signup/"
    assert (sent["scope"], sent["limit"], sent["client_id"], sent["ip"]) == (
        "signup",
        "signup_ip",
        "",
        "10.0.0.9",
    )
    assert sent["retry_after"] == int(response["Retry-After"]) >= 1
    assert sent["actor"] == Actor.system("rate-limit")


# --- what counts as a failed client authentication ----------------------------------------------


def test_a_success_makes_an_address_trusted_only_for_a_while(monkeypatch, settings):
    """Kills clients.x_record_success mutants that trust for ever or under another key. (Which
    outcomes count is decided by the signals now: tests/security/test_rate_limiting.py.)"""
    settings.OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL = 1234
    fake = RecordingCache()
    monkeypatch.setattr(clients, "cache", lambda: fake)
    clients.record_success(clients.Claim("app", "10.0.0.1"))
    assert fake.added == [(clients._trusted_key("app", "10.0.0.1"), 1, 1234)]
    clients.record_success(clients.Claim("app", "10.0.0.1", trusted=True))
    assert len(fake.added) == 1, "an address already trusted is not written again"


def lock_and_trust(client_id: str, ip: str, now: float):
    checked = clients.check(client_id, ip, now)
    return checked.lock, checked.trusted


def test_an_address_is_trusted_for_the_client_that_authenticated_there_only(settings):
    """Kills clients.x__trusted_key__mutmut_4 to _8: the trusted-address key names the client, the
    address and its own namespace (an address trusted for one client is not for another)."""
    # SHA-256("trusted" NUL "app" NUL "10.0.0.1"), first 32 hex digits.
    assert clients._trusted_key("app", "10.0.0.1") == "ratelimit:trusted:ea89cb9aa958e7f64d410f0546f4000f"
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "auth_failures_client": "5/900"}
    clients.record_success(clients.Claim("app", "10.0.0.1"))
    assert lock_and_trust("app", "10.0.0.1", 3601.0) == (None, True)
    assert lock_and_trust("other-app", "10.0.0.1", 3601.0) == (None, False)
    assert lock_and_trust("app", "10.0.0.2", 3601.0) == (None, False)


def test_with_no_limit_on_failed_authentications_no_address_is_called_trusted(settings):
    """Kills clients.x_check mutants that report an address trusted without looking (was
    x_locked__mutmut_36)."""
    settings.OAUTH2_RATE_LIMITS = {
        **settings.OAUTH2_RATE_LIMITS,
        "auth_failures_client": "off",
        "auth_failures_client_ip": "off",
    }
    assert lock_and_trust("app", "10.0.0.1", 3601.0) == (None, False)


def test_a_client_with_no_failures_is_not_locked_even_at_a_limit_of_one(settings):
    """Kills clients.x_check mutants that read a missing counter as one failure (was
    x_locked__mutmut_55)."""
    settings.OAUTH2_RATE_LIMITS = {
        **settings.OAUTH2_RATE_LIMITS,
        "auth_failures_client": "1/900",
        "auth_failures_client_ip": "1/900",
    }
    assert lock_and_trust("app", "10.0.0.1", 3601.0) == (None, False)


# --- the client_id a request claims ---------------------------------------------------------------


def _basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    ("authorization", "form", "content_type", "claimed"),
    [
        (_basic("app:secret"), "", FORM, "app"),
        (_basic("app:sec:ret"), "", FORM, "app"),  # the secret may hold a colon, the id may not
        (_basic("app:secret").replace(" ", "  "), "", FORM, "app"),  # two spaces after the scheme
        (_basic("app:secret") + "*", "", FORM, ""),  # not base64: refused as malformed
        ("Basic !!!", "client_id=other", FORM, ""),
        ("Bearer xyz", "client_id=app", FORM, "app"),  # not Basic: the body names the client
        ("", "client_id=app", "application/json", ""),  # not a body the endpoint reads
        ("", "client_id=app", None, ""),  # multipart: the token endpoint refuses it
        ("", "grant_type=client_credentials", FORM, ""),  # no client_id at all
        ("", "client_id=a", FORM, "a"),
        ("", "client_id=" + "a" * 64, FORM, "a" * 64),  # MAX_CLIENT_ID_LENGTH
        ("", "client_id=" + "a" * 65, FORM, ""),  # longer: not a client id, not counted
    ],
)
def test_the_claimed_client_id_is_read_as_the_token_endpoint_reads_it(
    authorization, form, content_type, claimed
):
    """Kills identity.x_counted_client_id__mutmut_11, _13, _23, _24, _27, _31, _37, _40, _43, _44,
    _50, _53, _54 and _56."""
    factory = RequestFactory()
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    if content_type is None:
        request = factory.post("/oauth/token", {"client_id": "app"}, **extra)
    else:
        request = factory.post("/oauth/token", form, content_type=content_type, **extra)
    assert ratelimit.counted_client_id(request) == claimed


def test_a_request_that_is_not_a_post_claims_no_client_id_from_its_query():
    """Kills identity.x_counted_client_id__mutmut_37."""
    assert ratelimit.counted_client_id(RequestFactory().get("/oauth/token", {"client_id": "app"})) == ""


# --- what a throttled client is told and who hears of it (responses.py) --------------------------


def test_a_throttled_protocol_request_gets_the_slow_down_json(rf):
    """Kills responses.x_throttled_response__mutmut_28 (the description's wording)."""
    import json

    response = responses.throttled_response(
        rf.post("/oauth/token"), counters.Throttle("token", "token_ip", 7)
    )
    assert response.status_code == 429 and response["Retry-After"] == "7"
    body = json.loads(response.content)
    assert (body["error"], body["error_description"]) == (
        "slow_down",
        "Too many requests; slow down and try again later.",
    )


def test_a_client_throttle_is_announced_as_the_client_and_when(rf):
    """The audit log's actor is the client that was throttled, and the event carries its time.
    Kills responses.x_announce__mutmut_4 (the client's id dropped), _16 and _25 (no time)."""
    from django.utils import timezone

    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.request_throttled.connect(receiver, dispatch_uid="test-client-throttled")
    before = timezone.now()
    try:
        throttle = counters.Throttle("token", "auth_failures_client", 30, "app-1", "10.0.0.1")
        responses.announce(rf.post("/oauth/token"), throttle, ratelimit.RateLimitMiddleware)
    finally:
        signals.request_throttled.disconnect(dispatch_uid="test-client-throttled")
    [sent] = seen
    assert sent["actor"] == Actor.client("app-1")
    assert before <= sent["at"] <= timezone.now()


# --- the known-device cookie (signin.py) ---------------------------------------------------------


def test_the_device_cookie_keeps_five_accounts_and_is_secure_httponly_lax(rf, settings, monkeypatch):
    """A browser is remembered for at most five accounts (the newest first), in a cookie that lives
    as long as an address is trusted, is HttpOnly and SameSite=Lax, and Secure when the session
    cookie is or the request came over https. Kills signin.x_remember_device mutants (the count,
    the max_age, the Secure rule, the SameSite value)."""
    from django.http import HttpResponse

    from server.ratelimit import signin

    settings.OAUTH2_RATE_LIMIT_TRUSTED_ADDRESS_TTL = 1234
    monkeypatch.setattr(signin, "_device_marks", lambda request: [f"old{i}" for i in range(6)])

    def cookie(secure_setting, https):
        settings.SESSION_COOKIE_SECURE = secure_setting
        response = HttpResponse()
        signin.remember_device(rf.post("/accounts/login/", secure=https), response, "staff")
        return response.cookies[signin.DEVICE_COOKIE]

    sent = cookie(True, False)
    back = rf.get("/")
    back.COOKIES[signin.DEVICE_COOKIE] = sent.value
    marks = back.get_signed_cookie(signin.DEVICE_COOKIE, salt=signin._DEVICE_SALT).split(",")
    assert marks == [signin._account_mark("staff"), "old0", "old1", "old2", "old3"]
    assert (sent["max-age"], sent["httponly"], sent["samesite"], sent["secure"]) == (1234, True, "Lax", True)
    assert cookie(False, True)["secure"] is True
    assert not cookie(False, False)["secure"]


def test_no_device_cookie_means_no_marks_and_the_address_key_is_hashed_under_its_name(rf):
    """Kills signin.x__device_marks__mutmut_10 (a made-up mark without a cookie) and
    signin.x__address_key__mutmut_4/_7 (the key's name dropped or changed: the user name would
    then lead the cache key in clear)."""
    import hashlib

    from server.ratelimit import signin

    assert signin._device_marks(rf.get("/")) == []
    digest = hashlib.sha256(b"login_trusted\x00staff\x0010.0.0.1").hexdigest()[:32]
    assert signin._address_key("staff", "10.0.0.1") == f"ratelimit:login_trusted:{digest}"


def test_a_throttled_sign_in_names_its_limit_and_address(rf, settings):
    """What the sign-in throttle announces (the audit log's limit and address). Kills
    signin.x_check mutants that change the Throttle's limit, client_id or ip."""
    from server.ratelimit import signin

    settings.OAUTH2_RATE_LIMITS = {
        **settings.OAUTH2_RATE_LIMITS,
        "login_ip": "1/3600",
        "login_username": "50/3600",
    }

    def attempt(ip, username="staff"):
        request = rf.post("/accounts/login/", {"username": username, "password": "x"}, REMOTE_ADDR=ip)
        return signin.check(request, 7200.5)[0]

    assert attempt("10.0.0.1") is None
    throttle = attempt("10.0.0.1")
    assert (throttle.scope, throttle.limit, throttle.client_id, throttle.ip) == (
        "login",
        "login_ip",
        "",
        "10.0.0.1",
    )
    settings.OAUTH2_RATE_LIMITS = {
        **settings.OAUTH2_RATE_LIMITS,
        "login_ip": "50/3600",
        "login_username": "1/3600",
    }
    assert attempt("10.0.0.2", "carol") is None
    throttle = attempt("10.0.0.3", "carol")
    assert (throttle.scope, throttle.limit, throttle.client_id, throttle.ip) == (
        "login",
        "login_username",
        "",
        "10.0.0.3",
    )
