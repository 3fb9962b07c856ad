"""Races on PostgreSQL: parallel redemptions, refreshes, secret rotation and bulk revocation
against the live (threaded) server. SQLite serialises every writer, so these only mean
something on PostgreSQL; CI runs the suite there too (DATABASE_URL=postgres://...)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.db import connection

from server import services
from server.actors import Actor
from server.models import ClientSecret, Token
from tests.security.conftest import basic, redeem

PARALLEL = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="race tests need PostgreSQL's concurrent writers (set DATABASE_URL=postgres://...)",
    ),
]


@pytest.fixture(autouse=True)
def generous_limits(settings):
    # Hundreds of requests from 127.0.0.1 in a few seconds are the point here, not a flood.
    settings.OAUTH2_RATE_LIMIT_ENABLED = False


def all_at_once(func, count=PARALLEL):
    """Run func(i) in `count` threads released together; return the results in order."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return func(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_parallel_redemptions_of_one_code_issue_exactly_one_token(live, live_browser, confidential):
    app, secret = confidential
    code, verifier = live_browser.code(app.client_id)
    responses = all_at_once(lambda _: redeem(live, app.client_id, secret, code, verifier))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, statuses
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code != 200)
    assert not any(r.status_code >= 500 for r in responses)
    assert Token.objects.count() == 1


def test_parallel_refreshes_issue_exactly_one_new_pair_with_a_consistent_family(
    live, live_browser, confidential
):
    app, secret = confidential
    code, verifier = live_browser.code(app.client_id)
    first = redeem(live, app.client_id, secret, code, verifier).json()

    def refresh(_):
        return requests.post(
            live + "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            auth=basic(app.client_id, secret),
            timeout=30,
        )

    responses = all_at_once(refresh)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert not any(s >= 500 for s in statuses)
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code != 200)

    original, rotated = Token.objects.order_by("pk")
    assert Token.objects.count() == 2
    assert original.rotated_at is not None
    assert rotated.parent_id == original.pk and rotated.family_id == original.family_id
    # Losers that arrived after the winner committed saw a rotated token: reuse, so the family is
    # revoked as one. Either way the family is all-or-nothing, never half revoked.
    assert (original.revoked_at is None) == (rotated.revoked_at is None)


def test_secret_rotation_racing_token_requests_never_authenticates_an_expired_secret(live, confidential):
    app, old_secret = confidential
    stop = threading.Event()
    rotated_at: list[float] = []
    results: list[tuple[float, int]] = []  # (monotonic send time, status) of old-secret requests
    lock = threading.Lock()

    def hammer(_):
        while not stop.is_set():
            sent = time.monotonic()
            response = requests.post(
                live + "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=basic(app.client_id, old_secret),
                timeout=30,
            )
            with lock:
                results.append((sent, response.status_code))

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(hammer, i) for i in range(8)]
        time.sleep(0.5)
        new_secret, *_ = services.rotate_client_secret(app, actor=Actor.system("tests"), grace=timedelta(0))
        rotated_at.append(time.monotonic())  # the rotation has committed
        time.sleep(1.0)
        stop.set()
        for future in futures:
            future.result()

    before = [s for t, s in results if t < rotated_at[0]]
    after = [s for t, s in results if t > rotated_at[0]]
    assert before and after, (len(before), len(after))
    assert 200 in before
    assert set(after) == {401}, sorted(set(after))
    assert not any(s >= 500 for _, s in results)
    # Every success was stored, and nothing else was.
    assert Token.objects.filter(client=app).count() == [s for _, s in results].count(200)
    assert ClientSecret.objects.filter(client=app, expires_at__isnull=False).count() == 1
    response = requests.post(
        live + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=basic(app.client_id, new_secret),
        timeout=30,
    )
    assert response.status_code == 200


def test_bulk_revocation_racing_issuance_leaves_no_active_token_issued_before_it(live, confidential):
    app, secret = confidential
    stop = threading.Event()
    statuses: list[int] = []

    def issue(_):
        while not stop.is_set():
            response = requests.post(
                live + "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=basic(app.client_id, secret),
                timeout=30,
            )
            statuses.append(response.status_code)

    instants = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(issue, i) for i in range(8)]
        for _ in range(5):
            time.sleep(0.3)
            services.revoke_tokens(
                Token.objects.filter(client=app),
                actor=Actor.system("tests"),
                reason="bulk revocation race",
                criteria={"client_id": app.client_id},
            )
            instants.append(
                Token.objects.filter(client=app, revoked_at__isnull=False).latest("revoked_at").revoked_at
            )
        time.sleep(0.3)
        stop.set()
        for future in futures:
            future.result()

    assert statuses and not any(s >= 500 for s in statuses)
    assert Token.objects.filter(client=app, revoked_at__isnull=False).exists()
    last_revocation = max(instants)
    survivors = Token.objects.filter(client=app, revoked_at__isnull=True, issued_at__lte=last_revocation)
    assert not survivors.exists(), [(t.pk, t.issued_at) for t in survivors]


def test_parallel_polls_of_an_approved_device_issue_exactly_one_token(live, make_client, end_user):
    from server.models import DeviceAuthorization
    from server.oauth2.device import DEVICE_CODE_GRANT_TYPE

    app, secret = make_client("TV", redirect_uris=[], grant_types=[DEVICE_CODE_GRANT_TYPE])
    started = requests.post(
        live + "/oauth/device_authorization", auth=basic(app.client_id, secret), timeout=30
    )
    device_code = started.json()["device_code"]
    services.approve_device_authorization(DeviceAuthorization.objects.get(), user=end_user)

    def poll(_):
        data = {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": device_code}
        return requests.post(live + "/oauth/token", data=data, auth=basic(app.client_id, secret), timeout=30)

    responses = all_at_once(poll)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code != 200)
    assert Token.objects.count() == 1


def test_a_registrants_edit_waiting_on_an_approval_is_held_for_review(
    make_client, operator, django_user_model
):
    """An operator's approval holds the app's row while it writes the status; a registrant's edit
    (portal or RFC 7592 PUT) that read the app while pending waits for it and, the app now
    active, is held for review. Before, the edit read no lock: its UPDATE waited, then wrote the
    redirect URI onto the approved app, unseen (docs/security.md, the machine-facing review)."""
    from django.db import transaction

    from server.models import Client

    owner = django_user_model.objects.create_user("devon", "devon@example.com", "pw-123456-x")
    app, _ = make_client("Weather widget", owner=owner, status=Client.Status.PENDING)
    read_while_pending = Client.objects.get(pk=app.pk)
    locked, edited = threading.Event(), threading.Event()

    def registrant():
        locked.wait(10)
        try:
            services.propose_client_changes(
                read_while_pending,
                actor=Actor.developer(owner),
                redirect_uris=["https://attacker.example/cb"],
            )
        finally:
            connection.close()
            edited.set()

    worker = threading.Thread(target=registrant)
    worker.start()
    with transaction.atomic():  # the approval, between its locked read and its write
        Client.objects.select_for_update().get(pk=app.pk)
        locked.set()
        assert not edited.wait(1), "the registrant's edit waits for the approval's lock"
        Client.objects.filter(pk=app.pk).update(status=Client.Status.ACTIVE)
    worker.join(10)
    app.refresh_from_db()
    assert app.status == Client.Status.ACTIVE
    assert app.redirect_uri_list == ["https://app.example.com/callback"]
    assert app.pending_changes == {"redirect_uris": "https://attacker.example/cb"}
