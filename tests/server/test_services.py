"""The one write path: behaviour that every door (admin, portal, commands, endpoints) relies on."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from server import services
from server.actors import Actor
from server.models import AuthorizationCode, Client, ClientSecret, Token

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")


def _token(client, *, parent=None, n=0):
    return services.store_token(
        {"access_token": f"oat_{client.pk}_{n}", "refresh_token": f"ort_{client.pk}_{n}", "expires_in": 3600},
        client=client,
        user=None,
        grant_type="refresh_token" if parent else "client_credentials",
        parent=parent,
    )


def _family(client, length: int) -> None:
    parent = None
    for n in range(length):
        parent = _token(client, parent=parent, n=n)


def test_delete_client_removes_its_token_families_in_bulk_and_nothing_else(make_client):
    doomed, _ = make_client("Doomed")
    larger, _ = make_client("Larger")
    kept, _ = make_client("Kept")
    _family(doomed, 3)
    _family(larger, 30)
    survivor = _token(kept)
    # Independent of the number of tokens: no per-row loading or SET NULL. (A fixed pin broke
    # whenever a model gained a relation to Client, one cascade statement each; what matters
    # is that ten times the tokens costs not one statement more.)
    with CaptureQueriesContext(connection) as three:
        assert services.delete_client(doomed, actor=SYSTEM) == 3
    with CaptureQueriesContext(connection) as thirty:
        assert services.delete_client(larger, actor=SYSTEM) == 30
    assert len(thirty.captured_queries) == len(three.captured_queries) <= 25
    for gone in (doomed, larger):
        assert not Client.objects.filter(pk=gone.pk).exists()
        assert not Token.objects.filter(client_id=gone.pk).exists()
        assert not ClientSecret.objects.filter(client_id=gone.pk).exists()
    assert list(Token.objects.values_list("pk", flat=True)) == [survivor.pk]


def test_rotation_never_lengthens_an_earlier_expiry(make_client):
    app, _ = make_client()
    services.rotate_client_secret(app, actor=SYSTEM, grace=timedelta(hours=1))
    first_expiry = ClientSecret.objects.filter(client=app).exclude(expires_at=None).get().expires_at
    services.rotate_client_secret(app, actor=SYSTEM, grace=timedelta(days=7))
    expiries = sorted(
        e for e in ClientSecret.objects.filter(client=app).values_list("expires_at", flat=True) if e
    )
    assert expiries[0] == first_expiry
    assert len(expiries) == 2 and expiries[1] <= timezone.now() + timedelta(days=7)


def test_code_is_redeemed_once(make_client, end_user):
    app, _ = make_client()
    code = services.store_authorization_code(
        code="oac_x",
        client=app,
        user=end_user,
        redirect_uri="https://app.example.com/callback",
        scope="profile",
    )
    assert services.redeem_authorization_code(code) is True
    assert services.redeem_authorization_code(code) is False
    assert AuthorizationCode.objects.get().used_at is not None


def test_revoke_tokens_is_one_update_and_skips_already_revoked(make_client):
    app, _ = make_client()
    tokens = [_token(app, n=i) for i in range(3)]
    services.revoke_single_token(tokens[0], actor=SYSTEM, reason="first")
    assert services.revoke_tokens(Token.objects.all(), actor=SYSTEM, reason="bulk") == 2
    assert Token.objects.get(pk=tokens[0].pk).revoked_reason == "first"


def test_clear_expired_tokens_in_batches_keeps_live_children_and_drops_old_codes(make_client, end_user):
    app, _ = make_client()
    now = timezone.now()
    parent = _token(app, n=1)
    child = _token(app, parent=parent, n=2)
    code = services.store_authorization_code(
        code="oac_old", client=app, user=end_user, redirect_uri="", scope=""
    )
    Token.objects.filter(pk=child.pk).update(authorization_code=code)
    Token.objects.filter(pk=parent.pk).update(expires_at=now, refresh_expires_at=now)
    AuthorizationCode.objects.filter(pk=code.pk).update(expires_at=now - timedelta(hours=2))
    progress = []
    assert services.clear_expired_tokens(batch_size=1, progress=lambda n, key: progress.append((n, key))) == 1
    assert progress == [(1, parent.pk)]
    survivor = Token.objects.get()
    assert survivor.pk == child.pk and survivor.parent_id is None and survivor.authorization_code_id is None
    assert survivor.family_id == parent.family_id
    assert not AuthorizationCode.objects.exists()
