"""/metrics after real traffic: every counter grew by exactly what the requests did, read from
the scrape as Prometheus reads it (issue 15: "the counters match the traffic")."""

import pytest
from django.db.models import Count

from oauth_console.audit.models import AuditEvent
from server import services
from server.actors import Actor
from server.models import Token
from tests.console.operations.scraping import changed, delta, scrape
from tests.server.helpers import basic_auth, exchange_code, form, get_code

# Transactional: events are announced and audited after commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def audit_counts() -> dict[tuple[str, str], int]:
    rows = AuditEvent.objects.values("event_type", "outcome").annotate(n=Count("id"))
    return {(row["event_type"], row["outcome"]): row["n"] for row in rows}


def test_counters_match_the_traffic(
    client, make_client, end_user, settings, django_capture_on_commit_callbacks
):
    app, secret = make_client("Metered app")
    other, other_secret = make_client("Unlabelled app")
    settings.METRICS_CLIENT_LABELS = [app.client_id]
    settings.OAUTH2_RATE_LIMITS = {**settings.OAUTH2_RATE_LIMITS, "register_ip": "1/3600"}
    auth = {"HTTP_AUTHORIZATION": basic_auth(app.client_id, secret)}
    audit_before = audit_counts()
    before = scrape(client)

    # Tokens: two client_credentials for the labelled client, one for another, a code and its refresh.
    for _ in range(2):
        assert form(client, "/oauth/token", {"grant_type": "client_credentials"}, **auth).status_code == 200
    other_auth = basic_auth(other.client_id, other_secret)
    response = form(
        client, "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=other_auth
    )
    assert response.status_code == 200
    client.force_login(end_user)
    code, verifier = get_code(client, app.client_id)
    issued = exchange_code(client, app.client_id, secret, code, verifier).json()
    refreshed = form(
        client,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        **auth,
    )
    assert refreshed.status_code == 200
    refreshed = refreshed.json()
    client.logout()

    # A failed client authentication, and a refused grant of an authenticated client.
    wrong = {"HTTP_AUTHORIZATION": basic_auth(app.client_id, "ocs_wrong")}
    assert form(client, "/oauth/token", {"grant_type": "client_credentials"}, **wrong).status_code == 401
    bogus = {"grant_type": "refresh_token", "refresh_token": "ort_bogus"}
    assert form(client, "/oauth/token", bogus, **auth).json()["error"] == "invalid_grant"

    # Bearer checks: accepted, a wrong token, none at all.
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {refreshed['access_token']}"}
    assert client.get("/api/me", **bearer).status_code == 200
    assert client.get("/api/me", HTTP_AUTHORIZATION="Bearer oat_nonsense").status_code == 401
    assert client.get("/api/me").status_code == 401

    # One introspection; revocations: a single access token, a refresh token's family, a bulk one.
    assert form(client, "/oauth/introspect", {"token": refreshed["access_token"]}, **auth).status_code == 200
    assert form(client, "/oauth/revoke", {"token": issued["access_token"]}, **auth).status_code == 200
    family = Token.objects.get(access_token_prefix=refreshed["access_token"][:12]).family_id
    family_active = Token.objects.filter(family_id=family, revoked_at__isnull=True).count()
    assert family_active >= 1
    assert form(client, "/oauth/revoke", {"token": refreshed["refresh_token"]}, **auth).status_code == 200
    active = Token.objects.filter(client=app, revoked_at__isnull=True).count()
    assert active == 2  # the two client_credentials tokens
    with django_capture_on_commit_callbacks(execute=True):  # services announce after commit
        bulk = services.revoke_tokens(
            Token.objects.filter(client=app), actor=Actor.system("tests"), reason="bulk", criteria={}
        )
    assert bulk == 2

    # A throttled registration (the second in the hour).
    assert client.post("/oauth/register", "{}", content_type="application/json").status_code == 401
    assert client.post("/oauth/register", "{}", content_type="application/json").status_code == 429

    after = scrape(client)
    d = lambda name, **labels: delta(before, after, name, **labels)  # noqa: E731

    assert d("oauth_tokens_issued_total", grant_type="client_credentials", client=app.client_id) == 2
    assert d("oauth_tokens_issued_total", grant_type="client_credentials", client="other") == 1
    assert d("oauth_tokens_issued_total", grant_type="authorization_code", client=app.client_id) == 1
    assert d("oauth_tokens_issued_total", grant_type="refresh_token", client=app.client_id) == 1
    assert d("oauth_token_request_errors_total", grant_type="refresh_token", error="invalid_grant") == 1
    assert (
        d("oauth_client_authentication_failures_total", endpoint="oauth-token", method="client_secret_basic")
        == 1
    )
    assert d("oauth_bearer_checks_total", outcome="accepted") == 1
    assert d("oauth_bearer_checks_total", outcome="invalid_token") == 1
    assert d("oauth_bearer_checks_total", outcome="missing_authorization") == 1
    assert d("oauth_introspections_total") == 1
    assert d("oauth_revocations_total", kind="single") == 1
    assert d("oauth_tokens_revoked_total", kind="single") == 1
    # The refresh token's family: every token of it still active.
    assert d("oauth_revocations_total", kind="family") == 1
    assert d("oauth_tokens_revoked_total", kind="family") == family_active
    assert d("oauth_revocations_total", kind="bulk") == 1
    assert d("oauth_tokens_revoked_total", kind="bulk") == 2
    assert d("oauth_requests_throttled_total", limit="register_ip") == 1
    assert d("oauth_backing_service_errors_total", service="database") == 0

    # Nothing else of ours moved: no stray label, no double count.
    ours = {key: grown for key, grown in changed(before, after, "oauth_").items()}
    counters = {
        k: v for k, v in ours.items() if not k[0].startswith(("oauth_request_duration", "oauth_audit"))
    }
    assert (
        sum(counters.values()) == 2 + 1 + 1 + 1 + 1 + 1 + 3 + 1 + (1 + 1) + (1 + family_active) + (1 + 2) + 1
    )

    # Latency: one observation per protocol request, by endpoint and status class.
    assert d("oauth_request_duration_seconds_count", endpoint="oauth-token", status="2xx") == 5
    assert d("oauth_request_duration_seconds_count", endpoint="oauth-token", status="4xx") == 2
    assert d("oauth_request_duration_seconds_count", endpoint="oauth-authorize", status="3xx") == 1
    assert d("oauth_request_duration_seconds_count", endpoint="api-me", status="2xx") == 1
    assert d("oauth_request_duration_seconds_count", endpoint="api-me", status="4xx") == 2
    assert d("oauth_request_duration_seconds_count", endpoint="oauth-introspect", status="2xx") == 1
    assert d("oauth_request_duration_seconds_count", endpoint="oauth-revoke", status="2xx") == 2
    assert d("oauth_request_duration_seconds_count", endpoint="oauth-register", status="4xx") == 2
    assert d("oauth_request_duration_seconds_bucket", endpoint="api-me", status="2xx", le="+Inf") == 1
    # The console's own pages and /metrics itself are not observed.
    assert not [key for key in ours if ("endpoint", "metrics") in key[1]]

    # Audit events: the counter says what the audit log holds, type by type.
    audit_after = audit_counts()
    recorded = {k: n - audit_before.get(k, 0) for k, n in audit_after.items() if n != audit_before.get(k, 0)}
    assert recorded
    for (event_type, outcome), n in recorded.items():
        assert d("oauth_audit_events_total", event_type=event_type, outcome=outcome) == n, event_type
    counted = {k: v for k, v in ours.items() if k[0] == "oauth_audit_events_total"}
    assert sum(counted.values()) == sum(recorded.values())


def test_revocations_by_consent_user_and_deleted_client_are_counted_with_their_tokens(
    client, make_client, end_user, django_capture_on_commit_callbacks
):
    def tokens_for(app, secret, count):
        auth = {"HTTP_AUTHORIZATION": basic_auth(app.client_id, secret)}
        client.force_login(end_user)
        for _ in range(count):
            code, verifier = get_code(client, app.client_id)
            assert exchange_code(client, app.client_id, secret, code, verifier).status_code == 200
        form(client, "/oauth/token", {"grant_type": "client_credentials"}, **auth)
        client.logout()

    consented, consented_secret = make_client("Consented app")
    used, used_secret = make_client("Used app")
    doomed, doomed_secret = make_client("Doomed app")
    tokens_for(consented, consented_secret, 2)
    tokens_for(doomed, doomed_secret, 1)
    before = scrape(client)
    actor = Actor.system("tests")
    with django_capture_on_commit_callbacks(execute=True):
        consent_count = services.revoke_consent(user=end_user, client=consented, actor=actor)
    tokens_for(used, used_secret, 1)
    with django_capture_on_commit_callbacks(execute=True):
        user_count = services.revoke_user_access(end_user, actor=actor, reason="tests")
        deleted_count = services.delete_client(doomed, actor=actor)
    after = scrape(client)

    assert (consent_count, user_count, deleted_count) == (2, 2, 1)  # deleted: its client_credentials token
    for kind, count in (("consent", 2), ("user", 2), ("deleted_client", 1)):
        assert delta(before, after, "oauth_revocations_total", kind=kind) == 1, kind
        assert delta(before, after, "oauth_tokens_revoked_total", kind=kind) == count, kind
