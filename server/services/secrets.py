"""Client secrets: a new secret on creation, rotation with a grace period, expiry."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from server import credentials, policies, signals
from server.actors import Actor
from server.models import Client, ClientSecret
from server.services._after_commit import send_after_commit


def _new_secret(client: Client, *, now) -> tuple[str, ClientSecret]:
    plain = credentials.generate("client_secret")
    row = ClientSecret.objects.create(
        client=client,
        digest=credentials.digest(plain),
        prefix=credentials.display_prefix(plain),
        created_at=now,
    )
    return plain, row


class RotatedSecret(NamedTuple):
    """What a rotation made: the new plain secret (show it once), its row, and when the older
    secrets stop working, as stored (an answer quoting it needs no second clock)."""

    secret: str
    row: ClientSecret
    previous_expires_at: datetime


GRACE_PERIODS = {
    "immediately": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


def rotate_client_secret(
    client: Client,
    *,
    actor: Actor,
    grace: timedelta = GRACE_PERIODS["24h"],
    operator_scopes_allowed: Iterable[str] = (),
) -> RotatedSecret:
    """Give a confidential client a new secret; unexpired old secrets expire after `grace`.

    Returns the new plain-text secret (show it once), its row and the old secrets' expiry (an
    old secret already due sooner keeps its own date). During the grace period the old and the
    new secret both authenticate. `operator_scopes_allowed`: the operator scopes the calling door
    holds; they must cover the client's (the secret is the client's power).
    """
    policies.check_operator_scopes_within(client.scope_list, operator_scopes_allowed)
    if client.is_public:
        raise policies.PolicyError("A public client has no secret to rotate.")
    if grace < timedelta(0):
        raise policies.PolicyError("The grace period cannot be negative.")
    now = timezone.now()
    old_expiry = now + grace
    with transaction.atomic():
        # Shorten, never lengthen: an old secret already due to expire sooner keeps its date.
        previous = ClientSecret.objects.filter(client=client).exclude(expires_at__lte=old_expiry)
        previous.update(expires_at=old_expiry)
        plain, row = _new_secret(client, now=now)
        send_after_commit(
            signals.client_secret_rotated,
            client=client,
            secret=row,
            previous_expires_at=old_expiry,
            actor=actor,
            at=now,
        )
    return RotatedSecret(plain, row, old_expiry)


def expire_client_secret(secret: ClientSecret, *, actor: Actor) -> ClientSecret:
    """Expire one secret now (the end of a rotation's grace period, or a leaked secret)."""
    now = timezone.now()
    with transaction.atomic():
        ClientSecret.objects.filter(pk=secret.pk).update(expires_at=now)
        secret.expires_at = now
        send_after_commit(
            signals.client_secret_expired, client=secret.client, secret=secret, actor=actor, at=now
        )
    return secret
