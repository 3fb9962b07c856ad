"""Work every protocol request paid outside its view, done once (as tests/server/test_hot_path_work.py
pins the views' own): found with `bench.request_cost --instructions`."""

import pytest
from django.http import HttpResponse

from tests.server.helpers import basic_auth, form
from tests.server.test_hot_path_work import issue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(make_client):
    return make_client("Overhead app")


def test_an_introspection_works_out_no_rate_limit_key_it_worked_out_before(client, app):
    # Its counters', the client's lockout counters' and its trusted address's keys are the same
    # as the request before it in the window: the round trip is worked out once per client,
    # address and window (server.ratelimit.plans), and its keys are not even looked up again.
    from server.ratelimit import counters, plans

    app_, secret = app
    auth = basic_auth(app_.client_id, secret)
    token = issue(client, app)
    assert form(client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth).status_code == 200
    kept = dict(plans._plans)
    before = counters.key.cache_info()
    response = form(client, "/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200 and response.json()["active"] is True
    after = counters.key.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (0, 0)
    [(key, plan)] = [(key, plan) for key, plan in plans._plans.items() if key[0] == "introspect"]
    assert kept[key] is plan
    # The same keys as before.
    assert counters.key("token_ip", "10.0.0.1", "60", "3600") == counters.key.__wrapped__(
        "token_ip", "10.0.0.1", "60", "3600"
    )


@pytest.mark.parametrize("name", ["_csp_update", "_csp_replace", "_csp_exempt", "_csp_config_ro"])
def test_a_response_with_a_policy_of_its_own_still_goes_through_django_csp(rf, name):
    from oauth_console.csp_middleware import _has_own_policy

    response = HttpResponse()
    assert _has_own_policy(response) is False
    setattr(response, name, {"form-action": ["https://rp.example"]} if "exempt" not in name else True)
    assert _has_own_policy(response) is True
    setattr(response, name, None)  # set but None: django-csp ignores it, and so does the check
    assert _has_own_policy(response) is False
