"""Device authorizations (RFC 8628): start one, the user's decision, the polls, the one token.

Every state change is a conditional UPDATE on the row's status, so of two concurrent writers
(two polls claiming the token, an approval racing a revocation) exactly one wins.
"""

import logging
from datetime import timedelta

from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from server import cache_round_trip, credentials, poll_pacing, signals
from server.actors import Actor
from server.conf import server_settings
from server.hotpath import locks
from server.models import Client, DeviceAuthorization
from server.services._after_commit import send_after_commit
from server.services.codes_and_consent import record_consent

Status = DeviceAuthorization.Status
# The interval grows by this much on each poll that comes too soon (RFC 8628 §3.5).
SLOW_DOWN_STEP = 5
# The pacing key outlives the device code by this much (a poll just before expiry still counts).
PACE_KEY_MARGIN = 60

pacing_guard = cache_round_trip.CacheGuard(
    logging.getLogger("server.cache"),
    "device polls paced in the database: the cache is unavailable (%s: %s)",
)


def start_device_authorization(
    *,
    client: Client,
    scope: str,
    device_code: str,
    user_code: str,
    expires_in: int,
    interval: int,
    audience: list[str] | tuple[str, ...] = (),
) -> DeviceAuthorization | None:
    """Store a device authorization (digests of its codes only; `user_code` normalised) for
    `audience`, the identifiers of the RFC 8707 resources it named (empty: the default API).

    Returns None, writing nothing, when a live or expired row already holds the user code's
    digest (the caller draws another code). Sends `device_authorization_requested`."""
    now = timezone.now()
    try:
        with transaction.atomic():
            row = DeviceAuthorization.objects.create(
                device_code_digest=credentials.digest(device_code),
                device_code_prefix=credentials.display_prefix(device_code),
                user_code_digest=credentials.digest(user_code),
                client=client,
                scope=scope or "",
                audience=" ".join(audience),
                interval=interval,
                created_at=now,
                expires_at=now + timedelta(seconds=expires_in),
            )
            send_after_commit(
                signals.device_authorization_requested,
                client=client,
                device_authorization=row,
                scope=row.scope,
                actor=Actor.client(client.client_id),
                at=now,
            )
    except IntegrityError:
        return None
    return row


def _decide(device: DeviceAuthorization, *, user, approved: bool) -> bool:
    now = timezone.now()
    with transaction.atomic():
        won = DeviceAuthorization.objects.filter(
            pk=device.pk, status=Status.PENDING, expires_at__gt=now
        ).update(status=Status.APPROVED if approved else Status.DENIED, user=user, decided_at=now)
        if not won:
            return False
        device.status = Status.APPROVED if approved else Status.DENIED
        device.user, device.decided_at = user, now
        if approved:
            # As on /oauth/authorize: the user's authorized apps list it, and withdrawing it there
            # revokes the device's tokens.
            record_consent(user=user, client=device.client, scope=device.scope)
        signal = signals.device_authorization_approved if approved else signals.device_authorization_denied
        send_after_commit(
            signal,
            client=device.client,
            user=user,
            device_authorization=device,
            scope=device.scope,
            actor=Actor.user(user),
            at=now,
        )
    return True


def approve_device_authorization(device: DeviceAuthorization, *, user) -> bool:
    """`user` approved the device for its scope (the consent page showed exactly that scope).
    False when it is no longer waiting (answered, revoked or expired meanwhile). Sends
    `device_authorization_approved`; the consent is remembered as on the authorization endpoint."""
    return _decide(device, user=user, approved=True)


def deny_device_authorization(device: DeviceAuthorization, *, user) -> bool:
    """`user` denied the device: its polls get access_denied. False when it is no longer waiting.
    Sends `device_authorization_denied`."""
    return _decide(device, user=user, approved=False)


def record_device_poll(device: DeviceAuthorization) -> bool:
    """Note a poll of a waiting device; True when it came before its interval was up (the
    interval then grows by 5 s, for this and every later poll: RFC 8628 §3.5).

    Recorded in the shared cache (OAUTH2_RATE_LIMIT_CACHE, Redis in production: every worker
    sees every poll), one round trip and no SQL: a thousand waiting devices polling every few
    seconds must cost no more than a SELECT each. When the cache is down, in the device's row
    (`_pace_in_database`), as before."""
    now = timezone.now()
    if pacing_guard.available:
        ttl = max(1, int((device.expires_at - now).total_seconds()) + PACE_KEY_MARGIN)
        try:
            early, _interval = poll_pacing.pace(
                caches[server_settings.OAUTH2_RATE_LIMIT_CACHE],
                f"device-poll:{device.pk}",
                now=now.timestamp(),
                interval=device.interval,
                step=SLOW_DOWN_STEP,
                ttl=ttl,
            )
        except Exception as exc:  # any cache failure: pace in the database instead
            pacing_guard.failed(exc)
        else:
            return early
    return _pace_in_database(device, now)


def _pace_in_database(device: DeviceAuthorization, now=None) -> bool:
    """`record_device_poll` in the device's row (conditional UPDATEs): the fallback when the
    cache is unavailable."""
    now = now or timezone.now()
    on_time = (
        DeviceAuthorization.objects.filter(pk=device.pk)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .update(next_poll_at=now + timedelta(seconds=device.interval))
    )
    if on_time:
        return False
    slower = device.interval + SLOW_DOWN_STEP
    DeviceAuthorization.objects.filter(pk=device.pk).update(
        interval=F("interval") + SLOW_DOWN_STEP, next_poll_at=now + timedelta(seconds=slower)
    )
    return True


def redeem_device_authorization(device: DeviceAuthorization) -> bool:
    """Claim an approved, unexpired device authorization for its one token (call inside the
    token's transaction). True for the one caller that wins."""
    locks.hold_client_for_issuance(device.client_id)
    now = timezone.now()
    won = DeviceAuthorization.objects.filter(pk=device.pk, status=Status.APPROVED, expires_at__gt=now).update(
        status=Status.REDEEMED, redeemed_at=now
    )
    return won == 1


def _close_open(devices: QuerySet[DeviceAuthorization], at) -> int:
    return devices.filter(status__in=(Status.PENDING, Status.APPROVED), expires_at__gt=at).update(
        status=Status.DENIED, decided_at=at
    )


def revoke_device_authorizations(
    devices: QuerySet[DeviceAuthorization], *, actor: Actor, reason: str, criteria: dict | None = None
) -> int:
    """Make every open device authorization in `devices` (waiting, or approved and not
    collected) unusable with one UPDATE: their polls get access_denied. Returns how many.
    Sends `device_authorizations_revoked`."""
    criteria = criteria or {}
    now = timezone.now()
    with transaction.atomic():
        count = _close_open(devices, now)
        send_after_commit(
            signals.device_authorizations_revoked,
            count=count,
            reason=reason,
            criteria=criteria,
            actor=actor,
            at=now,
        )
    return count
