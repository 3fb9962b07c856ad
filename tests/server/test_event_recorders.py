"""`server.events` recorders: run inside the transaction of the fact they report, before it
commits; the public signal follows the commit; a recorder that raises takes the fact with it."""

import pytest
from django.db import connection, transaction

from server import events, services, signals
from server.actors import Actor
from server.models import Client
from server.oauth2 import signals as oauth2_signals
from tests.server.helpers import basic_auth, form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorder_of():
    """Register a recorder for the test only."""
    added = []

    def add(name, recorder):
        events.add_recorder(name, recorder)
        added.append((name, recorder))
        return recorder

    yield add
    for name, recorder in added:
        events.remove_recorder(name, recorder)


@pytest.fixture
def heard():
    """What the public signal `client_status_changed` delivered, and when."""
    seen = []

    def receiver(sender, client=None, **kwargs):
        seen.append(("signal", client.status, connection.in_atomic_block))

    signals.client_status_changed.connect(receiver, dispatch_uid="test.heard")
    yield seen
    signals.client_status_changed.disconnect(dispatch_uid="test.heard")


def test_a_service_runs_its_recorders_inside_its_transaction_and_signals_after_commit(
    make_client, recorder_of, heard
):
    client, _ = make_client("Recorded")

    def record(sender, client=None, new_status=None, **kwargs):
        # The write is made (this transaction sees it), not committed, and nobody heard yet.
        stored = Client.objects.get(pk=client.pk).status
        heard.append(("recorder", stored, connection.in_atomic_block))

    recorder_of("client_status_changed", record)
    services.set_client_status(client, Client.Status.DISABLED, actor=Actor.system("tests"))
    assert heard == [("recorder", "disabled", True), ("signal", "disabled", False)]


def test_a_recorder_that_raises_rolls_the_fact_back_and_nothing_is_signalled(make_client, recorder_of, heard):
    client, _ = make_client("Vetoed")

    def refuse(sender, **kwargs):
        raise RuntimeError("cannot record")

    recorder_of("client_status_changed", refuse)
    with pytest.raises(RuntimeError, match="cannot record"):
        services.set_client_status(client, Client.Status.DISABLED, actor=Actor.system("tests"))
    client.refresh_from_db()
    assert client.status == Client.Status.ACTIVE
    assert heard == []


def test_a_rolled_back_caller_takes_the_record_with_it(make_client, recorder_of, heard):
    client, _ = make_client("Rolled back")
    recorded = []
    recorder_of("client_status_changed", lambda sender, **kwargs: recorded.append(kwargs["new_status"]))

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        services.set_client_status(client, Client.Status.DISABLED, actor=Actor.system("tests"))
        raise Abandon
    assert recorded == ["disabled"]  # it ran, inside the transaction that was then rolled back
    assert heard == []
    client.refresh_from_db()
    assert client.status == Client.Status.ACTIVE


def test_token_issued_is_recorded_inside_the_tokens_transaction(client, make_client, recorder_of):
    app, secret = make_client("Issuer")
    seen = []

    def record(sender, record=None, **kwargs):
        # The token is visible to a recorder that reads, and from then on the recorder runs in
        # the token's transaction. (On PostgreSQL, until a recorder touches the database the
        # token waits, so that a row it only adds can go in the token's own statement:
        # server.hotpath.riders; that path is pinned in test_query_counts.py.)
        visible = type(record).objects.filter(pk=record.pk).exists()
        seen.append((connection.in_atomic_block, record.pk, visible))

    recorder_of("token_issued", record)
    response = form(
        client,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=basic_auth(app.client_id, secret),
    )
    assert response.status_code == 200
    [(in_transaction, token_id, visible)] = seen
    assert in_transaction and visible and token_id


def test_the_bridge_runs_recorders_once_per_signal():
    ran = []

    def record(sender, **kwargs):
        ran.append(sender)

    events.add_recorder("consent_granted", record)
    events.add_recorder("consent_granted", record)  # twice: still once
    try:
        oauth2_signals.consent_granted.send(sender="test", client=None, user=None, scope="", request=None)
    finally:
        events.remove_recorder("consent_granted", record)
    assert ran == ["test"]
