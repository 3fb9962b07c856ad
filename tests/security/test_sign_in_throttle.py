"""The sign-in throttle (server/ratelimit) and self sign-up, as an attacker and the real user see them.

Issue 11 item 6: the per-user-name limit locked the real user out from anywhere, counted
successful sign-ins, keyed on a user name the backend does not use (fullwidth letters slipped
past), and sign-up told anyone which user names exist.
"""

import unicodedata

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from server import ratelimit

pytestmark = pytest.mark.django_db

PASSWORD = "staff-password-123"
FULLWIDTH_STAFFONLY = "".join(chr(ord(c) + 0xFEE0) for c in "staffonly")  # NFKC: "staffonly"
SIGNUP = "/developers/signup/"


@pytest.fixture
def staff(settings):
    """A staff user (signs in at /admin/ too), with a fast hasher: these tests sign in a lot."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return get_user_model().objects.create_user("staffonly", "staff@example.com", PASSWORD, is_staff=True)


def sign_in(http, username, password=PASSWORD, ip="10.0.0.1", path="/accounts/login/"):
    return http.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def lock_by_guessing(username, count, prefix="10.66.0"):
    """`count` wrong passwords for `username`, each from its own address and cookie-less client:
    refused with the form's error up to the per-account limit, then 429."""
    limit = ratelimit.rate("login_username").limit
    statuses = [
        sign_in(Client(), username, "wrong-guess", ip=f"{prefix}.{n}").status_code for n in range(count)
    ]
    assert statuses == [200] * min(count, limit) + [429] * max(0, count - limit), statuses


def test_guessing_from_many_addresses_does_not_lock_out_where_the_user_signed_in_before(
    rate_limit_cache, staff, limits
):
    limits(login_ip="100/300", login_username="10/300")
    laptop = Client()
    assert sign_in(laptop, "staffonly", ip="192.0.2.10").status_code == 302
    lock_by_guessing("staffonly", 11)
    # A stranger is locked out, right password or not ...
    assert sign_in(Client(), "staffonly", ip="203.0.113.5").status_code == 429
    # ... the real user is not: from the browser they signed in with before (even from a new
    # address), nor from the address they signed in from before.
    assert sign_in(laptop, "staffonly", ip="192.0.2.10").status_code == 302
    assert sign_in(laptop, "staffonly", ip="198.51.100.7").status_code == 302
    assert sign_in(Client(), "staffonly", ip="192.0.2.10").status_code == 302
    # The remembered browser is remembered for this user only.
    other = get_user_model().objects.create_user("other", "o@example.com", PASSWORD)
    lock_by_guessing("other", 11, prefix="10.67.0")
    assert sign_in(laptop, other.username, ip="198.51.100.7").status_code == 429


def test_a_wrong_password_from_a_known_browser_still_counts(rate_limit_cache, staff, limits):
    limits(login_ip="100/300", login_username="3/300")
    laptop = Client()
    assert sign_in(laptop, "staffonly", ip="192.0.2.10").status_code == 302
    for _ in range(3):
        assert sign_in(laptop, "staffonly", "wrong", ip="192.0.2.10").status_code == 200
    # The known browser keeps its way in, but strangers are locked out by its failures too.
    assert sign_in(laptop, "staffonly", ip="192.0.2.10").status_code == 302
    assert sign_in(Client(), "staffonly", ip="203.0.113.9").status_code == 429


def test_a_forged_device_cookie_is_ignored(rate_limit_cache, staff, limits):
    limits(login_ip="100/300", login_username="3/300")
    lock_by_guessing("staffonly", 3)
    forger = Client()
    forger.cookies[ratelimit.DEVICE_COOKIE] = "staffonly"
    assert sign_in(forger, "staffonly", ip="203.0.113.5").status_code == 429


@pytest.mark.parametrize("variant", [FULLWIDTH_STAFFONLY, " staffonly ", "staffonly\t", "\uff53taffonly"])
def test_a_locked_user_name_cannot_be_reached_through_a_variant(rate_limit_cache, staff, limits, variant):
    limits(login_ip="100/300", login_username="3/300")
    # Without a lock, the variant signs in as the same account: it is the same identity.
    assert sign_in(Client(), variant, ip="192.0.2.99").status_code == 302
    lock_by_guessing("staffonly", 3)
    response = sign_in(Client(), variant, ip="203.0.113.5")
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.content


def test_guesses_through_variants_count_against_the_account(rate_limit_cache, staff, limits):
    limits(login_ip="100/300", login_username="3/300")
    for n, variant in enumerate([FULLWIDTH_STAFFONLY, " staffonly", "staffonly"]):
        assert sign_in(Client(), variant, "wrong", ip=f"10.1.0.{n}").status_code == 200
    assert sign_in(Client(), "staffonly", ip="203.0.113.5").status_code == 429


def test_a_case_variant_is_another_identity(rate_limit_cache, staff, limits):
    """User names are case-sensitive in Django's ModelBackend (an exact lookup): "STAFFONLY"
    cannot sign in as staffonly, so guesses on it neither count against nor get past staffonly."""
    limits(login_ip="100/300", login_username="3/300")
    assert sign_in(Client(), "STAFFONLY", ip="192.0.2.99").status_code == 200  # wrong user name
    lock_by_guessing("staffonly", 3)
    assert sign_in(Client(), "STAFFONLY", ip="203.0.113.5").status_code == 200  # still just refused
    lock_by_guessing("Staffonly", 3, prefix="10.68.0")
    assert sign_in(Client(), "Staffonly", ip="203.0.113.6").status_code == 429


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_successful_sign_ins_do_not_count(rate_limit_cache, staff, limits, path):
    limits(login_ip="10/300", login_username="10/300")
    http = Client()
    for _ in range(11):
        assert sign_in(http, "staffonly", path=path).status_code == 302
    # Failures still do, per user name and per address.
    for _ in range(10):
        assert sign_in(http, "staffonly", "wrong", path=path).status_code == 200
    assert sign_in(Client(), "staffonly", ip="203.0.113.5", path=path).status_code == 429
    assert sign_in(Client(), "someone-else", "x", ip="10.0.0.1", path=path).status_code == 429


# --- the limiter's identity is the backend's --------------------------------------------------

FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "staffonly"}


@st.composite
def user_name_variants(draw):
    """staffonly, with letters in random case or fullwidth, and surrounding whitespace."""
    letters = []
    for c in "staffonly":
        form = draw(st.sampled_from(["plain", "upper", "fullwidth", "fullwidth-upper"]))
        if form == "upper":
            c = c.upper()
        elif form == "fullwidth":
            c = FULLWIDTH[c]
        elif form == "fullwidth-upper":
            c = chr(ord(FULLWIDTH[c]) - 0x20)
        letters.append(c)
    space = st.text(alphabet=" \t\n\u00a0\u3000\u2003", max_size=3)
    return draw(space) + "".join(letters) + draw(space)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(variant=user_name_variants())
def test_the_limiter_keys_on_exactly_the_identity_that_signs_in(staff, variant):
    signs_in = AuthenticationForm(data={"username": variant, "password": PASSWORD}).is_valid()
    same_identity = ratelimit.login_identity(variant) == ratelimit.login_identity("staffonly")
    assert signs_in == same_identity, (variant, unicodedata.normalize("NFKC", variant))


# --- self sign-up --------------------------------------------------------------------------------


def signup(http, username, ip="10.0.0.1", password="a-Long-pass-phrase-42"):
    data = {"username": username, "email": "new@example.com", "password1": password, "password2": password}
    return http.post(SIGNUP, data, REMOTE_ADDR=ip)


@pytest.fixture
def self_signup(settings):
    settings.PORTAL_SELF_SIGNUP = True


def test_signup_does_not_tell_whether_a_user_name_exists(rate_limit_cache, self_signup, staff, client):
    taken = signup(client, "staffonly")
    taken_other_case = signup(client, "StaffOnly")
    reserved = signup(client, "administrator")  # refused for another reason: no account by that name
    assert not get_user_model().objects.filter(username__iexact="administrator").exists()
    messages = []
    for response in (taken, taken_other_case, reserved):
        assert response.status_code == 200
        assert b"already exists" not in response.content
        messages.append(response.context["form"].errors["username"])
    assert messages[0] == messages[1] == messages[2]
    assert get_user_model().objects.filter(username__iexact="staffonly").count() == 1


def test_signup_is_rate_limited_per_address(rate_limit_cache, self_signup, staff, limits, client):
    limits(signup_ip="3/3600")
    for n in range(3):
        assert signup(Client(), f"probe{n}", password="short").status_code == 200
    response = signup(Client(), "staffonly")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert b"already exists" not in response.content
    # Showing the form is not counted, and another address may still sign up.
    assert Client().get(SIGNUP, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert signup(Client(), "newdev", ip="10.0.0.2").status_code == 302
