"""Rate limits (server/ratelimit.py) against the local-memory cache and the real Redis."""

import json
import logging
import time
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.core.cache import caches

from server import ratelimit, services, signals
from server.actors import Actor
from server.models import Token
from server.ratelimit import counters
from tests.server.helpers import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def throttles():
    """Every request_throttled signal sent during the test."""
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.request_throttled.connect(receiver, dispatch_uid="test-throttles")
    yield seen
    signals.request_throttled.disconnect(dispatch_uid="test-throttles")


def form_post(http, path, data, **extra):
    """POST `data` as application/x-www-form-urlencoded, the only body RFC 6749 allows."""
    return http.post(path, urlencode(data), content_type="application/x-www-form-urlencoded", **extra)


def client_credentials(http, client_id, secret, ip="10.0.0.1"):
    return form_post(
        http,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
        REMOTE_ADDR=ip,
    )


def assert_throttled(response, *, json_body=True):
    assert response.status_code == 429, response.content[:300]
    assert int(response["Retry-After"]) >= 1
    assert response["Cache-Control"] == "no-store"
    if json_body:
        body = response.json()
        assert body["error"] == "slow_down"
        assert "\n" not in body["error_description"]


def test_rate_parse():
    assert ratelimit.Rate.parse("30/60") == ratelimit.Rate(30, 60)
    assert ratelimit.Rate.parse("off") is None
    assert ratelimit.Rate.parse("") is None
    with pytest.raises(ValueError):
        ratelimit.Rate.parse("-1/60")


def test_token_endpoint_per_ip_limit(rate_limit_cache, client, confidential, limits, throttles):
    limits(token_ip="3/60")
    app, secret = confidential
    for _ in range(3):
        assert client_credentials(client, app.client_id, secret).status_code == 200
    response = client_credentials(client, app.client_id, secret)
    assert_throttled(response)
    assert Token.objects.count() == 3  # the refused request issued nothing
    assert [(t["scope"], t["limit"], t["ip"]) for t in throttles] == [("token", "token_ip", "10.0.0.1")]
    # Another address is not affected.
    assert client_credentials(client, app.client_id, secret, ip="10.0.0.2").status_code == 200


def test_token_endpoint_per_client_limit_spans_addresses(rate_limit_cache, client, make_client, limits):
    limits(token_client="2/60")
    (app, secret), (other, other_secret) = make_client("A"), make_client("B")
    assert client_credentials(client, app.client_id, secret, ip="10.0.0.1").status_code == 200
    assert client_credentials(client, app.client_id, secret, ip="10.0.0.2").status_code == 200
    assert_throttled(client_credentials(client, app.client_id, secret, ip="10.0.0.3"))
    assert client_credentials(client, other.client_id, other_secret, ip="10.0.0.3").status_code == 200


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/oauth/introspect", "introspect_ip"), ("/oauth/revoke", "revoke_ip")],
)
def test_introspection_and_revocation_are_limited(
    rate_limit_cache, client, confidential, limits, path, limit
):
    limits(**{limit: "2/60"})
    app, secret = confidential
    for _ in range(2):
        response = form_post(
            client, path, {"token": "oat_nothing"}, HTTP_AUTHORIZATION=basic_auth(app.client_id, secret)
        )
        assert response.status_code == 200
    response = form_post(
        client, path, {"token": "oat_nothing"}, HTTP_AUTHORIZATION=basic_auth(app.client_id, secret)
    )
    assert_throttled(response)


def test_registration_is_limited_per_address(rate_limit_cache, client, limits, throttles):
    limits(register_ip="2/3600")
    for _ in range(2):
        response = client.post("/oauth/register", "{}", content_type="application/json")
        # No initial access token: RFC 7591 §3 protects the endpoint as RFC 6750 §3.1 does, 401.
        assert response.status_code == 401
    response = client.post("/oauth/register", "{}", content_type="application/json")
    assert_throttled(response)
    assert throttles[0]["scope"] == "register"


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_sign_in_forms_are_limited(rate_limit_cache, client, end_user, limits, path, throttles):
    limits(login_ip="3/300", login_username="100/300")
    for _ in range(3):
        response = client.post(path, {"username": "alice", "password": "wrong"})
        assert response.status_code == 200  # the form, with its error
    # Only attempts count: showing the form is never throttled.
    assert client.get(path).status_code == 200
    response = client.post(path, {"username": "alice", "password": "alice-password-123"})
    assert_throttled(response, json_body=False)
    assert b"Too many sign-in attempts" in response.content
    assert throttles[0]["scope"] == "login"


def test_sign_in_is_limited_per_user_name_across_addresses(rate_limit_cache, client, end_user, limits):
    limits(login_ip="100/300", login_username="2/300")
    for ip in ("10.0.0.1", "10.0.0.2"):
        client.post("/accounts/login/", {"username": "alice", "password": "x"}, REMOTE_ADDR=ip)
    # The same account spelled in fullwidth letters (Django's form NFKC-normalises it); "Alice"
    # would be another account: ModelBackend's lookup is case-sensitive.
    fullwidth_alice = "\uff41\uff4c\uff49\uff43\uff45"
    response = client.post(
        "/accounts/login/", {"username": fullwidth_alice, "password": "x"}, REMOTE_ADDR="10.0.0.3"
    )
    assert_throttled(response, json_body=False)
    # Another user name from the same address is fine.
    response = client.post("/accounts/login/", {"username": "bob", "password": "x"}, REMOTE_ADDR="10.0.0.3")
    assert response.status_code == 200


def test_failed_client_authentications_lock_secret_guessing_at_that_address(
    rate_limit_cache, client, confidential, limits, throttles
):
    limits(auth_failures_client_ip="3/900", auth_failures_client="100/900")
    app, secret = confidential
    for _ in range(3):
        assert client_credentials(client, app.client_id, "ocs_guess", ip="10.6.6.6").status_code == 401
    # Locked at the guesser's address: even the right secret is not tried there any more.
    response = client_credentials(client, app.client_id, secret, ip="10.6.6.6")
    assert_throttled(response)
    assert "failed client authentications" in response.json()["error_description"]
    assert throttles[-1]["limit"] == "auth_failures_client_ip"
    assert throttles[-1]["client_id"] == app.client_id
    # The real client, elsewhere, carries on.
    assert client_credentials(client, app.client_id, secret, ip="10.0.0.1").status_code == 200


def test_distributed_guessing_locks_the_client_except_where_it_authenticated_before(
    rate_limit_cache, client, confidential, limits
):
    limits(auth_failures_client_ip="100/900", auth_failures_client="5/900")
    app, secret = confidential
    # The real client authenticates from its own address first.
    assert client_credentials(client, app.client_id, secret, ip="192.0.2.10").status_code == 200
    for n in range(5):
        assert client_credentials(client, app.client_id, "ocs_guess", ip=f"10.9.0.{n}").status_code == 401
    # Locked for everyone else, right secret or not ...
    assert_throttled(client_credentials(client, app.client_id, "ocs_guess", ip="10.9.1.1"))
    assert_throttled(client_credentials(client, app.client_id, secret, ip="10.9.1.2"))
    # ... but the real client's known address is not locked out.
    assert client_credentials(client, app.client_id, secret, ip="192.0.2.10").status_code == 200
    # Another client is untouched.
    other, other_secret = services.create_client(
        name="Other", actor=Actor.system("tests"), grant_types=["client_credentials"], scope=["read"]
    )
    assert client_credentials(client, other.client_id, other_secret, ip="10.9.1.2").status_code == 200


def test_throttles_are_counted_per_client_not_per_claimed_header_trick(
    rate_limit_cache, client, confidential, limits
):
    """The client_id in the form counts as well as the one in Basic auth (client_secret_post)."""
    limits(token_client="1/60")
    app, secret = confidential
    data = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret}
    assert form_post(client, "/oauth/token", data, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert_throttled(form_post(client, "/oauth/token", data, REMOTE_ADDR="10.0.0.2"))


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(
    rate_limit_cache, client, confidential, limits, settings
):
    limits(token_ip="1/60")
    app, secret = confidential
    forged = {"HTTP_X_FORWARDED_FOR": "203.0.113.1"}
    auth = basic_auth(app.client_id, secret)
    data = {"grant_type": "client_credentials"}
    assert form_post(client, "/oauth/token", data, HTTP_AUTHORIZATION=auth, **forged).status_code == 200
    forged = {"HTTP_X_FORWARDED_FOR": "203.0.113.2"}
    assert_throttled(form_post(client, "/oauth/token", data, HTTP_AUTHORIZATION=auth, **forged))
    # Behind one trusted proxy the address it saw is the client's.
    settings.OAUTH2_RATE_LIMIT_PROXY_COUNT = 1
    assert form_post(client, "/oauth/token", data, HTTP_AUTHORIZATION=auth, **forged).status_code == 200


def test_turning_rate_limiting_off(client, confidential, limits, settings):
    limits(token_ip="1/60")
    settings.OAUTH2_RATE_LIMIT_ENABLED = False
    app, secret = confidential
    for _ in range(3):
        assert client_credentials(client, app.client_id, secret).status_code == 200


# --- cache outage -------------------------------------------------------------------------------


@pytest.fixture
def redis_down(settings, monkeypatch):
    """A cache that cannot be reached (nothing listens on port 1). The limiter's monotonic clock
    (its retry delay after a cache error) is stopped: the outage window lasts the whole test,
    however slow the machine."""
    frozen = time.monotonic()
    monkeypatch.setattr(counters, "time", SimpleNamespace(monotonic=lambda: frozen))
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/15",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    ratelimit.cache_guard.reset()
    yield
    ratelimit.cache_guard.reset()


def test_cache_outage_allows_and_logs(redis_down, client, confidential, limits, caplog, end_user):
    limits(token_ip="1/60", auth_failures_client_ip="1/900", login_ip="1/300")
    app, secret = confidential
    with pytest.raises(Exception):  # noqa: B017 - the cache really is down
        caches["default"].get("probe")
    with caplog.at_level(logging.WARNING, logger="server.ratelimit"):
        for _ in range(3):
            assert client_credentials(client, app.client_id, secret).status_code == 200
        assert client_credentials(client, app.client_id, "ocs_wrong").status_code == 401
        assert client_credentials(client, app.client_id, secret).status_code == 200
        response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-123"})
        assert response.status_code == 302
        # The bearer check (whose audit hook also uses the cache) keeps working too.
        issued = form_post(
            client,
            "/oauth/token",
            {"grant_type": "client_credentials", "scope": "profile"},
            HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
        )
        token = issued.json()["access_token"]
        assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert Token.objects.count() == 5
    warnings = [r for r in caplog.records if r.name == "server.ratelimit"]
    assert warnings and "cache is unavailable" in warnings[0].getMessage()
    # Logged once per outage window, not once per request.
    assert len(warnings) == 1


# Redis stopped and restarted under the limiter (its recovery): tests/security/test_redis_faults.py.


def test_throttle_response_is_rfc_json(client, confidential, limits, time_machine):
    limits(token_ip="1/60")
    # Both requests in one window, however slow the machine: the clock stands one second into it.
    time_machine.move_to("2026-01-05 10:00:01Z", tick=False)
    app, secret = confidential
    assert client_credentials(client, app.client_id, secret).status_code == 200
    response = client_credentials(client, app.client_id, secret)
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert set(json.loads(response.content)) == {"error", "error_description"}


# --- media types (issue 11 item 7) -----------------------------------------------------------------

# Django parses a form body whatever the media type's case, surrounding spaces or parameters; the
# limiter must read the claimed client_id from exactly the bodies the token endpoint reads.
FORM_MEDIA_TYPES = [
    "Application/x-www-form-urlencoded",
    "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8",
    "application/x-www-form-urlencoded ; charset=utf-8",
    " application/x-www-form-urlencoded",
]


def secret_post(http, client_id, secret, content_type, ip):
    body = urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    return http.post("/oauth/token", body, content_type=content_type, REMOTE_ADDR=ip)


@pytest.mark.parametrize("content_type", FORM_MEDIA_TYPES)
def test_secret_guessing_lockout_whatever_the_media_type_spelling(
    rate_limit_cache, client, make_client, limits, content_type
):
    limits(auth_failures_client_ip="3/900", auth_failures_client="100/900")
    app, secret = make_client("Post app", token_endpoint_auth_method="client_secret_post")
    for _ in range(3):
        assert secret_post(client, app.client_id, "ocs_guess", content_type, "10.6.6.6").status_code == 401
    assert_throttled(secret_post(client, app.client_id, secret, content_type, "10.6.6.6"))
    assert secret_post(client, app.client_id, secret, content_type, "10.0.0.1").status_code == 200


@pytest.mark.parametrize("content_type", FORM_MEDIA_TYPES)
def test_per_client_limit_whatever_the_media_type_spelling(
    rate_limit_cache, client, make_client, limits, content_type
):
    limits(token_client="1/60")
    app, secret = make_client("Post app", token_endpoint_auth_method="client_secret_post")
    assert secret_post(client, app.client_id, secret, content_type, "10.0.0.1").status_code == 200
    assert_throttled(secret_post(client, app.client_id, secret, content_type, "10.0.0.2"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/x-www-form-urlencoded", ("application/x-www-form-urlencoded", {})),
        ("Application/JSON; Charset=UTF-8", ("application/json", {"charset": "UTF-8"})),
        ('  multipart/form-data ; boundary="a b"', ("multipart/form-data", {"boundary": "a b"})),
        ("", ("", {})),
        ("text/plain; charset*=bogus''x", ("", {})),  # an unparsable header names no media type
    ],
)
def test_media_type_parser(header, expected):
    from server.oauth2.bodies import parse_media_type

    parsed = parse_media_type(header)
    assert (parsed.essence, parsed.params) == expected


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("Application/JSON; Charset=UTF-8", 201), ("text/plain", 400), ("application/jsonx", 400)],
)
def test_registration_reads_its_media_type_with_the_same_parser(operator, client, content_type, status):
    """Registration's JSON check goes through the one media-type parser too."""
    issued = services.create_initial_access_token(
        actor=Actor.operator(operator), created_by=operator, allowed_scope=["profile"]
    )
    _, token = issued
    metadata = {"client_name": "Spelled app", "redirect_uris": ["https://spelled.example.com/cb"]}
    response = client.post(
        "/oauth/register",
        json.dumps(metadata),
        content_type=content_type,
        secure=True,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["error"] == "invalid_request"


# --- counted from the authentication signals (issue 12), not from response bytes ------------------


def test_an_address_where_the_client_proved_its_secret_is_trusted_even_if_the_grant_refused(
    rate_limit_cache, client, confidential, limits
):
    limits(auth_failures_client_ip="100/900", auth_failures_client="3/900")
    app, secret = confidential
    # The secret is right; the scope is not: `client_authenticated` was sent, the answer is 400.
    refused = form_post(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "no-such-scope"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
        REMOTE_ADDR="192.0.2.20",
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    for n in range(3):
        assert client_credentials(client, app.client_id, "ocs_guess", ip=f"10.8.0.{n}").status_code == 401
    assert_throttled(client_credentials(client, app.client_id, secret, ip="10.8.1.1"))
    assert client_credentials(client, app.client_id, secret, ip="192.0.2.20").status_code == 200


def test_the_limiter_listens_to_the_client_authentication_signals():
    import inspect
    import weakref

    from server.oauth2 import signals as oauth2_signals

    for signal in (oauth2_signals.client_authentication_failed, oauth2_signals.client_authenticated):
        receivers = [r() if isinstance(r, weakref.ReferenceType) else r for _, r, *_ in signal.receivers]
        assert any(getattr(r, "__module__", "").startswith("server.ratelimit") for r in receivers)
    # Nothing in the limiter reads a response body for the error code.
    assert "invalid_client" not in inspect.getsource(ratelimit.clients)
    assert "invalid_client" not in inspect.getsource(ratelimit)


# --- the address a request is counted under ---------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "198.51.100.4", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "198.51.100.4"),
        # Behind one proxy: the rightmost hop it added, never the client's own left part.
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "spoofed, 203.0.113.9"}, "203.0.113.9"),
        (2, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "a, 203.0.113.9,10.0.0.1"}, "203.0.113.9"),
        # Fewer hops than trusted proxies (or no header): the peer's address.
        (1, {"REMOTE_ADDR": "10.0.0.2"}, "10.0.0.2"),
        (2, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "10.0.0.2"),
        # One IPv6 network (/64), one key, however its addresses are written.
        (0, {"REMOTE_ADDR": "2001:DB8:0:0:0:0:0:1"}, "2001:db8::/64"),
        (0, {"REMOTE_ADDR": "2001:db8::ffff:1"}, "2001:db8::/64"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "2001:db8:5:6:7::9"}, "2001:db8:5:6::/64"),
        # An IPv4 address written as IPv6 is that IPv4 address.
        (0, {"REMOTE_ADDR": "::ffff:198.51.100.4"}, "198.51.100.4"),
        (0, {"REMOTE_ADDR": "not:an:address"}, "not:an:address"),
        (0, {}, ""),
    ],
)
def test_the_address_a_request_is_counted_under(settings, rf, proxies, meta, expected):
    settings.OAUTH2_RATE_LIMIT_PROXY_COUNT = proxies
    request = rf.get("/oauth/token")
    request.META.pop("REMOTE_ADDR", None)
    request.META.update(meta)
    assert ratelimit.identity.client_ip(request) == expected


def test_an_unparsable_address_is_counted_as_written_and_logged(settings, rf, caplog):
    settings.OAUTH2_RATE_LIMIT_PROXY_COUNT = 0
    request = rf.get("/oauth/token", REMOTE_ADDR="not:an:address")
    with caplog.at_level(logging.DEBUG, logger="server.ratelimit"):
        assert ratelimit.identity.client_ip(request) == "not:an:address"
    assert [r.getMessage() for r in caplog.records] == ["unparsable IPv6 address in rate limiting"]
