"""The scale-check seeding command writes what it says, in issue order."""

import io

import pytest
from django.core.management import CommandError, call_command

from server.models import Client, Token

pytestmark = pytest.mark.django_db


def test_seed_tokens_creates_clients_users_and_tokens_in_issue_order():
    out = io.StringIO()
    call_command("seed_tokens", count=250, clients=3, users=4, batch_size=100, seed=3, stdout=out)

    assert Client.objects.filter(source=Client.Source.COMMAND).count() == 3
    assert Token.objects.count() == 250
    issued = list(Token.objects.order_by("pk").values_list("issued_at", flat=True))
    assert issued == sorted(issued)
    busiest = Client.objects.order_by("created_at").first()
    assert Token.objects.filter(client=busiest).count() > 100  # --first-client-share 0.5 by default
    assert not Token.objects.filter(grant_type="client_credentials", user__isnull=False).exists()
    assert "Seeded 250 tokens" in out.getvalue()


def test_seed_tokens_refuses_nonsense():
    with pytest.raises(CommandError):
        call_command("seed_tokens", count=10, first_client_share=2)
