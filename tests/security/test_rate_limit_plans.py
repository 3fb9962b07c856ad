"""A client's round trip worked out once per address and window (server/ratelimit/plans.py): kept
only while nothing it was worked out from has changed, so that every answer is the one a worker
working it out afresh would give. Run on local memory and on the real Redis (`rate_limit_cache`)."""

from types import SimpleNamespace

import pytest

from server import ratelimit
from server.ratelimit import plans
from tests.security.test_rate_limiting import assert_throttled, client_credentials, form_post
from tests.server.helpers import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock, moved by the test (`rate_limit_cache` pins it at 3601 s)."""
    now = SimpleNamespace(value=3601.0)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now.value, monotonic=lambda: 0.0))
    return now


def introspect(http, client_id, secret, ip="10.0.0.1"):
    return form_post(
        http,
        "/oauth/introspect",
        {"token": "unknown"},
        HTTP_AUTHORIZATION=basic_auth(client_id, secret),
        REMOTE_ADDR=ip,
    )


def test_a_plan_is_kept_within_its_windows_and_worked_out_again_in_the_next(
    rate_limit_cache, client, confidential, limits, clock
):
    limits(introspect_ip="3/60")
    app, secret = confidential
    for _ in range(3):
        assert introspect(client, app.client_id, secret).status_code == 200
    [kept] = plans._plans.values()
    assert_throttled(introspect(client, app.client_id, secret))
    assert list(plans._plans.values()) == [kept]
    clock.value += 60  # the next window: the kept plan's keys name the last one
    assert introspect(client, app.client_id, secret).status_code == 200
    [fresh] = plans._plans.values()
    assert fresh is not kept and fresh.since == kept.until
    assert {c.key for c in fresh.counted}.isdisjoint(c.key for c in kept.counted)


def test_a_clock_set_back_works_the_plan_out_again(rate_limit_cache, client, confidential, limits, clock):
    limits(introspect_ip="2/60")
    app, secret = confidential
    clock.value = 3660.0
    for _ in range(2):
        assert introspect(client, app.client_id, secret).status_code == 200
    assert_throttled(introspect(client, app.client_id, secret))
    clock.value = 3601.0  # the window before: its counter is another, still at zero
    assert introspect(client, app.client_id, secret).status_code == 200


def test_a_rate_changed_takes_effect_on_the_next_request(rate_limit_cache, client, confidential, limits):
    limits(token_ip="100/60")
    app, secret = confidential
    assert client_credentials(client, app.client_id, secret).status_code == 200
    limits(token_ip="1/60")  # the plan kept said 100
    assert_throttled(client_credentials(client, app.client_id, secret))


def test_a_lockout_turned_off_is_not_read_any_more(rate_limit_cache, client, confidential, limits):
    app, secret = confidential
    limits(auth_failures_client_ip="1/300")
    assert client_credentials(client, app.client_id, "wrong").status_code == 401
    assert_throttled(client_credentials(client, app.client_id, secret))
    limits(auth_failures_client_ip="off")
    assert client_credentials(client, app.client_id, secret).status_code == 200


def test_each_address_and_endpoint_has_its_own_plan(rate_limit_cache, client, confidential, limits):
    limits(introspect_ip="1/60", token_ip="1/60")
    app, secret = confidential
    assert introspect(client, app.client_id, secret, ip="10.0.0.1").status_code == 200
    assert introspect(client, app.client_id, secret, ip="10.0.0.2").status_code == 200
    assert client_credentials(client, app.client_id, secret, ip="10.0.0.1").status_code == 200
    assert_throttled(introspect(client, app.client_id, secret, ip="10.0.0.2"))
    assert {(key[0], key[2]) for key in plans._plans} == {
        ("introspect", "10.0.0.1"),
        ("introspect", "10.0.0.2"),
        ("token", "10.0.0.1"),
    }


def test_a_kept_plan_sends_what_working_it_out_afresh_would(settings, rate_limit_cache, client, confidential):
    app, secret = confidential
    for _ in range(2):
        assert introspect(client, app.client_id, secret).status_code == 200
    [(key, kept)] = plans._plans.items()
    scope, client_id, ip, marks, _alias = key
    fresh = plans._work_out(scope, client_id, ip, marks, ratelimit.time.time(), ratelimit.counters.cache())
    assert (fresh.counted, fresh.gates, fresh.trusted_key, fresh.since, fresh.until) == (
        kept.counted,
        kept.gates,
        kept.trusted_key,
        kept.since,
        kept.until,
    )
    assert (fresh.prepared.keys, fresh.prepared.args) == (kept.prepared.keys, kept.prepared.args)
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        assert kept.prepared.packed is not None  # packed once, on the first send


def test_plans_per_worker_are_bounded(monkeypatch, rate_limit_cache, client, confidential):
    monkeypatch.setattr(plans, "MAX_PLANS", 3)
    app, secret = confidential
    for n in range(7):
        assert introspect(client, app.client_id, secret, ip=f"10.0.1.{n}").status_code == 200
        assert len(plans._plans) <= 3
