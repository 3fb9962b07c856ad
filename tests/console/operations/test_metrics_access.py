"""Who may read /metrics: METRICS_ALLOWED_NETWORKS and METRICS_TOKEN; everyone else gets an empty
401 or 403. Never audited, never rate-limited, no session, plain HTTP allowed."""

import pytest

from oauth_console.audit.models import AuditEvent
from oauth_console.metrics import registry
from tests.console.operations.scraping import parse

pytestmark = pytest.mark.django_db

TOKEN = "metrics-scraper-token-0123456789"


def get(client, *, ip="127.0.0.1", token=None, **extra):
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get("/metrics", REMOTE_ADDR=ip, **extra)


def assert_refused(response, status):
    assert response.status_code == status
    assert response.content == b""
    assert "Set-Cookie" not in response


def test_default_lets_in_loopback_only(client):
    response = get(client)
    assert response.status_code == 200
    assert b"# TYPE oauth_tokens_issued_total counter" in response.content
    assert_refused(get(client, ip="203.0.113.9"), 403)
    assert get(client, ip="::1").status_code == 200


def test_allowed_networks(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "2001:db8::/32"]
    assert get(client, ip="10.1.2.3").status_code == 200
    assert get(client, ip="2001:db8::7").status_code == 200
    assert get(client, ip="::ffff:10.1.2.3").status_code == 200
    assert_refused(get(client, ip="127.0.0.1"), 403)
    assert_refused(get(client, ip="11.0.0.1"), 403)
    assert_refused(get(client, ip="not-an-address"), 403)


def test_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    assert get(client, ip="203.0.113.9", token=TOKEN).status_code == 200
    for wrong in (None, "", TOKEN[:-1], TOKEN + "x"):
        response = get(client, ip="203.0.113.9", token=wrong)
        assert_refused(response, 401)
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    basic = get(client, HTTP_AUTHORIZATION=f"Basic {TOKEN}")
    assert_refused(basic, 401)


def test_token_and_networks_both_apply(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert get(client, ip="10.0.0.1", token=TOKEN).status_code == 200
    assert_refused(get(client, ip="10.0.0.1"), 401)
    assert_refused(get(client, ip="192.0.2.1", token=TOKEN), 403)


def test_neither_setting_closes_metrics(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert_refused(get(client), 403)


def test_behind_a_proxy_the_client_address_counts_not_the_proxys(client, settings):
    # The TLS proxy on the same host forwards outside requests from 127.0.0.1.
    settings.OAUTH2_RATE_LIMIT_PROXY_COUNT = 1
    assert_refused(get(client, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"), 403)
    assert get(client, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


def test_plain_http_no_redirect_no_session_not_audited_not_rate_limited(client, settings):
    settings.OAUTH2_REQUIRE_HTTPS = True
    settings.SECURE_SSL_REDIRECT = True
    settings.OAUTH2_RATE_LIMITS = {name: "1/3600" for name in settings.OAUTH2_RATE_LIMITS}
    events = AuditEvent.objects.count()
    for _ in range(3):
        response = get(client)
        assert response.status_code == 200
        assert "Set-Cookie" not in response
    assert_refused(get(client, ip="203.0.113.9"), 403)
    assert AuditEvent.objects.count() == events
    assert client.get("/console/").status_code == 301  # the redirect is on, elsewhere


def test_only_get_and_head(client):
    assert client.head("/metrics").status_code == 200
    assert client.post("/metrics").status_code == 405


def test_label_values_are_bounded(settings):
    assert registry.bounded("client_credentials", registry.GRANT_TYPES) == "client_credentials"
    assert registry.bounded("x" * 80, registry.GRANT_TYPES) == "other"
    assert registry.bounded(None, registry.ERRORS) == "other"
    settings.METRICS_CLIENT_LABELS = ["listed"]
    assert registry.client_label("listed") == "listed"
    assert registry.client_label("anyone-else") == "other"


def test_a_caller_chosen_grant_type_makes_no_new_series(client, make_client):
    app, secret = make_client()
    from tests.server.helpers import basic_auth, form

    response = form(
        client,
        "/oauth/token",
        {"grant_type": "urn:example:made-up-" + "x" * 40},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 400
    samples = parse(get(client).content.decode())
    assert not [key for key in samples if any("made-up" in value for _, value in key[1])]
