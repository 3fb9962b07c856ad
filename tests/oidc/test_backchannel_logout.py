"""OpenID Connect Back-Channel Logout 1.0, end to end: relying parties sign in through the code
flow, the person signs out at the end-session endpoint, and the task worker (run here with
`run_queued_tasks`, as `manage.py db_worker` would) POSTs a logout token to each client signed in
to in that session, at a real receiver on loopback (its address allowed for the test through
OAUTH2_OUTBOUND_ALLOWED_NETWORKS, its certificate through OAUTH2_OUTBOUND_CA_BUNDLE).

The logout token is checked as a relying party checks it (§2.6), with joserfc and the keys the
JWKS endpoint publishes, not with the server's code. Test names follow the OpenID Foundation's
back-channel modules where one matches.
"""

import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.test import Client as HttpClient
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from joserfc import jwt

from oauth_console.audit.models import AuditEvent
from server import services
from server.actors import Actor
from server.models import BackchannelDelivery, ClientSession
from tests.task_queue import run_queued_tasks

from .conftest import ISSUER, published_keys, sign_in_and_get_tokens, verify_id_token

# The worker (db_worker) closes the database connection after its tasks, as a process of its own
# would: with PostgreSQL that needs tests that commit (the task-queue tests do the same).
pytestmark = pytest.mark.django_db(transaction=True)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
BYE = "https://app.example.com/logged-out"


@pytest.fixture
def receiver(https_server):
    """The relying parties' back channels: every path answers 200 unless a test says otherwise."""
    for path in ("/bcl-a", "/bcl-b", "/bcl-c"):
        https_server.routes[path] = (200, {"Cache-Control": "no-store"}, b"")
    return https_server


@pytest.fixture
def make_rp(make_client, receiver):
    def make(name, path, **settings):
        client, secret = make_client(name, scope=["openid", "profile", "email"])
        services.update_client(
            client,
            actor=Actor.system("tests"),
            backchannel_logout_uri=receiver.url(path),
            post_logout_redirect_uris=[BYE],
            **settings,
        )
        client.refresh_from_db()
        return client, secret

    return make


def logout_tokens(receiver, path) -> list[str]:
    tokens = []
    for headers, body in receiver.received.get(path, []):
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = parse_qs(body.decode("ascii"), strict_parsing=True)
        assert list(form) == ["logout_token"]
        tokens.append(form["logout_token"][0])
    return tokens


def verify_logout_token(token: str, client) -> dict:
    """Back-Channel Logout §2.6, as the relying party validates it."""
    decoded = jwt.decode(token, published_keys(), algorithms=["RS256", "ES256"])
    header, claims = decoded.header, decoded.claims
    assert header["typ"] == "logout+jwt" and header["alg"] == client.id_token_signed_response_alg
    assert header["kid"]
    assert claims["iss"] == ISSUER and claims["aud"] == client.client_id
    now = time.time()
    assert claims["iat"] <= now + 5 and now < claims["exp"] <= now + 300
    assert isinstance(claims["jti"], str) and claims["jti"]
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims
    assert claims.get("sub") or claims.get("sid")
    return claims


def make_due():
    """Move the waiting retries (their tasks and their deliveries) to a second ago."""
    past = timezone.now() - timedelta(seconds=1)
    DBTaskResult.objects.filter(status="READY").update(run_after=past)
    BackchannelDelivery.objects.filter(next_attempt_at__isnull=False).update(next_attempt_at=past)


def sign_out(browser, id_token):
    response = browser.get("/oauth/logout", {"id_token_hint": id_token, "post_logout_redirect_uri": BYE})
    assert response.status_code == 302, response.content[:300]


def test_oidcc_backchannel_rp_initiated_logout(browser, make_rp, receiver):
    """Two clients signed in to in this browser session each get a signed logout token naming
    the session (sid) and the user (sub), from the worker, not from the logout request."""
    a, a_secret = make_rp("RP A", "/bcl-a")
    b, b_secret = make_rp("RP B", "/bcl-b", id_token_signed_response_alg="ES256")
    a_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    b_token = sign_in_and_get_tokens(browser, b, b_secret)["id_token"]
    a_claims, b_claims = verify_id_token(a_token, a), verify_id_token(b_token, b)
    assert a_claims["sid"] == b_claims["sid"]

    sign_out(browser, a_token)
    assert receiver.received == {}, "the request itself must not call the clients"

    run_queued_tasks("logout")
    (for_a,) = logout_tokens(receiver, "/bcl-a")
    (for_b,) = logout_tokens(receiver, "/bcl-b")
    claims_a, claims_b = verify_logout_token(for_a, a), verify_logout_token(for_b, b)
    assert (claims_a["sid"], claims_a["sub"]) == (a_claims["sid"], a_claims["sub"])
    assert (claims_b["sid"], claims_b["sub"]) == (b_claims["sid"], b_claims["sub"])
    assert claims_a["jti"] != claims_b["jti"]

    event = AuditEvent.objects.get(event_type="user_logged_out")
    assert sorted(event.detail["notified"]) == sorted([a.client_id, b.client_id])
    assert event.detail["initiated_by"] == a.client_id
    assert not ClientSession.objects.filter(ended_at__isnull=True).exists()


def test_only_the_clients_of_the_session_that_logs_out_are_notified(browser, make_rp, receiver, user):
    """Another browser of the same user signed in to client C: C keeps its session."""
    a, a_secret = make_rp("RP A", "/bcl-a")
    c, c_secret = make_rp("RP C", "/bcl-c")
    make_rp("RP B, never signed in to", "/bcl-b")
    a_token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    other_browser = HttpClient()
    other_browser.force_login(user)
    c_token = sign_in_and_get_tokens(other_browser, c, c_secret)["id_token"]
    assert verify_id_token(c_token, c)["sid"] != verify_id_token(a_token, a)["sid"]

    sign_out(browser, a_token)
    run_queued_tasks("logout")
    assert len(logout_tokens(receiver, "/bcl-a")) == 1
    assert logout_tokens(receiver, "/bcl-b") == [] and logout_tokens(receiver, "/bcl-c") == []
    assert "_auth_user_id" in other_browser.session
    assert ClientSession.objects.get(client=c).ended_at is None


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(browser, make_rp, receiver, settings):
    settings.OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS = 3
    settings.OAUTH2_BACKCHANNEL_LOGOUT_RETRY_DELAY = 30
    a, a_secret = make_rp("RP A", "/bcl-a")
    receiver.routes["/bcl-a"] = (503, {}, b"busy")
    sign_out(browser, sign_in_and_get_tokens(browser, a, a_secret)["id_token"])

    run_queued_tasks("logout")
    assert len(receiver.received["/bcl-a"]) == 1
    waiting = DBTaskResult.objects.filter(status="READY").get()
    delivery = BackchannelDelivery.objects.get()
    assert waiting.args_kwargs["args"] == [delivery.pk] and delivery.attempts == 1
    delay = (waiting.run_after - timezone.now()).total_seconds()
    assert 25 < delay <= 30, delay
    assert delivery.next_attempt_at == waiting.run_after and delivery.claimed_until is None
    run_queued_tasks("logout")
    assert len(receiver.received["/bcl-a"]) == 1, "not retried before its time"

    for attempts, seconds in ((2, 60), (3, None)):
        make_due()
        run_queued_tasks("logout")
        assert BackchannelDelivery.objects.get().attempts == attempts
        if seconds is not None:
            waiting = DBTaskResult.objects.filter(status="READY").get()
            assert 55 < (waiting.run_after - timezone.now()).total_seconds() <= seconds
    assert len(receiver.received["/bcl-a"]) == 3
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert BackchannelDelivery.objects.get().state == "failed"
    failed = AuditEvent.objects.get(event_type="backchannel_logout_failed")
    assert failed.client_id == a.client_id and failed.outcome == "failure"
    assert failed.detail["attempts"] == 3 and "503" in failed.detail["error"]


def test_a_receiver_that_recovers_gets_a_fresh_token(browser, make_rp, receiver):
    a, a_secret = make_rp("RP A", "/bcl-a")
    receiver.routes["/bcl-a"] = (500, {}, b"oops")
    sign_out(browser, sign_in_and_get_tokens(browser, a, a_secret)["id_token"])
    run_queued_tasks("logout")
    receiver.routes["/bcl-a"] = (200, {}, b"")
    make_due()
    run_queued_tasks("logout")
    first, second = logout_tokens(receiver, "/bcl-a")
    assert verify_logout_token(first, a)["jti"] != verify_logout_token(second, a)["jti"]
    assert not AuditEvent.objects.filter(event_type="backchannel_logout_failed").exists()


def test_the_ssrf_guard_stands_between_the_worker_and_a_private_address(browser, make_rp, receiver, settings):
    """Without the test's allowance, loopback is refused by the guard: no request reaches it,
    and the delivery is given up (one attempt here) and audited."""
    settings.OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS = 1
    a, a_secret = make_rp("RP A", "/bcl-a")
    sign_out(browser, sign_in_and_get_tokens(browser, a, a_secret)["id_token"])
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = []
    run_queued_tasks("logout")
    assert receiver.received == {}
    failed = AuditEvent.objects.get(event_type="backchannel_logout_failed")
    assert "loopback" in failed.detail["error"]


def test_a_redirecting_receiver_is_not_followed(browser, make_rp, receiver, settings):
    settings.OAUTH2_BACKCHANNEL_LOGOUT_ATTEMPTS = 1
    a, a_secret = make_rp("RP A", "/bcl-a")
    receiver.routes["/bcl-a"] = (307, {"Location": receiver.url("/bcl-b")}, b"")
    sign_out(browser, sign_in_and_get_tokens(browser, a, a_secret)["id_token"])
    run_queued_tasks("logout")
    assert "/bcl-b" not in receiver.received
    assert "redirect" in AuditEvent.objects.get(event_type="backchannel_logout_failed").detail["error"]


@pytest.mark.django_db
def test_a_rolled_back_logout_queues_nothing(browser, make_rp, user):
    from django.db import transaction

    a, a_secret = make_rp("RP A", "/bcl-a")
    sign_in_and_get_tokens(browser, a, a_secret)
    sid = ClientSession.objects.get().sid
    with pytest.raises(RuntimeError), transaction.atomic():
        services.end_browser_session(sid=sid, user=user, actor=Actor.user(user), issuer=ISSUER)
        raise RuntimeError("the logout failed")
    assert not DBTaskResult.objects.exists()
    assert ClientSession.objects.get().ended_at is None
    assert not AuditEvent.objects.filter(event_type="user_logged_out").exists()


@pytest.mark.django_db
def test_a_client_without_a_backchannel_uri_is_listed_but_not_notified(browser, make_client):
    client, secret = make_client("Plain RP", scope=["openid", "profile", "email"])
    token = sign_in_and_get_tokens(browser, client, secret)["id_token"]
    browser.get("/oauth/logout", {"id_token_hint": token})
    event = AuditEvent.objects.get(event_type="user_logged_out")
    assert event.detail["clients"] == [client.client_id] and event.detail["notified"] == []
    assert not DBTaskResult.objects.exists()


IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.django_db  # the commit is captured (no worker runs)
def test_without_a_worker_the_request_delivers_once_after_the_commit(
    browser, make_rp, receiver, settings, django_capture_on_commit_callbacks
):
    """A bare project (no TASKS): django-tasks' immediate backend runs the delivery in the
    logout request, only once the logout committed (check server.W006 warns about it)."""
    a, a_secret = make_rp("RP A", "/bcl-a")
    token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks() as callbacks:
        sign_out(browser, token)
        assert receiver.received == {}, "nothing is sent before the commit"
    for callback in callbacks:
        callback()
    (delivered,) = logout_tokens(receiver, "/bcl-a")
    assert verify_logout_token(delivered, a)["sid"] == verify_id_token(token, a)["sid"]
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_without_a_worker_a_failure_is_given_up_at_once(
    browser, make_rp, receiver, settings, django_capture_on_commit_callbacks
):
    a, a_secret = make_rp("RP A", "/bcl-a")
    receiver.routes["/bcl-a"] = (503, {}, b"busy")
    token = sign_in_and_get_tokens(browser, a, a_secret)["id_token"]
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=True):
        sign_out(browser, token)
    assert len(receiver.received["/bcl-a"]) == 1
    failed = AuditEvent.objects.get(event_type="backchannel_logout_failed")
    assert failed.detail["attempts"] == 1 and "not retried" in failed.detail["error"]


@pytest.mark.django_db
def test_cleartokens_forgets_the_clients_of_sessions_that_ended_a_day_ago(browser, make_rp, user):
    import time_machine

    a, a_secret = make_rp("RP A", "/bcl-a")
    c, c_secret = make_rp("RP C", "/bcl-c")
    sign_out(browser, sign_in_and_get_tokens(browser, a, a_secret)["id_token"])
    still_open = HttpClient()
    still_open.force_login(user)
    sign_in_and_get_tokens(still_open, c, c_secret)
    services.clear_expired_tokens()
    assert ClientSession.objects.count() == 2, "ended today: kept"
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        services.clear_expired_tokens()
    assert list(ClientSession.objects.values_list("client__name", flat=True)) == ["RP C"]
    event = AuditEvent.objects.filter(event_type="expired_tokens_cleared").latest("id")
    assert event.detail["client_sessions_deleted"] == 1
