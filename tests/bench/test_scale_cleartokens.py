"""`bench.scale`'s cleartokens measurement stops the first run part-way, whatever the size: a
walk shorter than --interrupt-after batches is stopped half-way, so the resume is measured too
(a run at one million tokens once reported "did not resume" and still met its target)."""

import functools
from argparse import Namespace
from datetime import timedelta

import pytest
from django.utils import timezone

from bench.scale import bulk
from server import credentials, services
from server.models import Token

pytestmark = pytest.mark.django_db


def test_a_walk_shorter_than_interrupt_after_is_stopped_half_way_and_resumed(make_client, monkeypatch):
    client, _secret = make_client("Scale app")
    past = timezone.now() - timedelta(days=2)
    Token.objects.bulk_create(
        Token(
            access_token_digest=credentials.digest(f"scale-{n}"),
            access_token_prefix="p",
            client=client,
            grant_type="client_credentials",
            expires_at=past,
        )
        for n in range(40)
    )
    # Batches of 5: a walk of 8 batches, fewer than the 100 asked for.
    in_fives = functools.partial(services.clear_expired_tokens, batch_size=5)
    monkeypatch.setattr(services, "clear_expired_tokens", in_fives)
    row = bulk.measure_cleartokens(Namespace(interrupt_after=100))
    assert "resuming after token #" in row.note
    assert "40 tokens deleted" in row.note
    assert not Token.objects.exists()
