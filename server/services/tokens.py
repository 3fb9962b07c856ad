"""Tokens: storing what the token endpoint issues, refresh rotation, and every revocation.

Revocations that must also catch tokens still being issued take the client locks of
`server.hotpath.locks`, whose docstring states the rules.
"""

import uuid
from datetime import timedelta
from functools import cache

from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from server import credentials, events, signals
from server.actors import Actor
from server.conf import server_settings
from server.hotpath import locks, revocation, riders, sql, token_insert
from server.hotpath.prepared import cursor as prepared_cursor
from server.hotpath.prepared import database
from server.models import (
    AuthorizationCode,
    BackchannelDelivery,
    Client,
    ClientSession,
    DeviceAuthorization,
    SweepPosition,
    Token,
)
from server.services._after_commit import send_after_commit


def _stamp_revoked(tokens: QuerySet[Token], *, actor: Actor, reason: str, at) -> int:
    """The one UPDATE every revocation runs: the still-active tokens among `tokens` get who
    revoked them, why and when. Returns how many changed."""
    return tokens.filter(revoked_at__isnull=True).update(
        revoked_at=at, revoked_by=actor.label[:200], revoked_reason=reason[:200]
    )


def _revoke_holding_locks(tokens: QuerySet[Token], *, actor: Actor, reason: str, criteria: dict):
    """Stamp every still-active token in `tokens`, holding the client locks that catch tokens
    still being issued. Call inside a transaction. Returns (how many changed, when)."""
    # The clients of the matched tokens, and the one the criteria name (whose tokens may all
    # still be in flight, so not matched yet).
    clients = Q(pk__in=tokens.order_by().values("client_id"))
    if isinstance(criteria.get("client_id"), str):
        clients |= Q(client_id=criteria["client_id"])
    locks.hold_clients_for_revocation(clients)
    now = sql.database_now()
    return _stamp_revoked(tokens, actor=actor, reason=reason, at=now), now


def revoke_tokens(tokens: QuerySet[Token], *, actor: Actor, reason: str, criteria: dict | None = None) -> int:
    """Revoke every still-active token in `tokens` with one UPDATE; return how many changed.
    Sends `tokens_revoked` (a bulk or family revocation) after commit."""
    criteria = criteria or {}
    with transaction.atomic():
        count, now = _revoke_holding_locks(tokens, actor=actor, reason=reason, criteria=criteria)
        send_after_commit(
            signals.tokens_revoked, count=count, reason=reason, criteria=criteria, actor=actor, at=now
        )
    return count


def revoke_tokens_from_code(code: AuthorizationCode, *, reason: str = "authorization code replayed") -> int:
    """Revoke every token issued from `code` and from refreshes of them (RFC 6749 §4.1.2)."""
    families = Token.objects.filter(authorization_code=code).values("family_id")
    return revoke_tokens(
        Token.objects.filter(family_id__in=families),
        actor=Actor.system("replay-detection"),
        reason=reason,
        criteria={"authorization_code_id": code.pk},
    )


def store_token(
    token: dict,
    *,
    client: Client,
    user,
    grant_type: str,
    authorization_code: AuthorizationCode | None = None,
    parent: Token | None = None,
    audience: list[str] | tuple[str, ...] = (),
) -> Token:
    """Store an issued token pair (digests only) in one INSERT. `audience`: the RFC 8707
    resources it is restricted to (none: the default API). A refresh continues its parent's
    family. On PostgreSQL the INSERT itself share-locks the client row and is stamped after the
    lock (`token_insert.insert_token`): a bulk revocation in flight finishes first, and the token
    is stamped after its instant; one that starts later finds this token and revokes it."""
    refresh = token.get("refresh_token")
    values = {
        "access_token_digest": credentials.digest(token["access_token"]),
        "access_token_prefix": credentials.display_prefix(token["access_token"]),
        "refresh_token_digest": credentials.digest(refresh) if refresh else None,
        "refresh_token_prefix": credentials.display_prefix(refresh) if refresh else "",
        "token_type": token.get("token_type", "Bearer"),
        "grant_type": grant_type,
        "scope": token.get("scope", "") or "",
        "audience": " ".join(audience),
        "family_id": parent.family_id if parent else uuid.uuid4(),
        "parent_id": parent.pk if parent else None,
        "authorization_code_id": authorization_code.pk if authorization_code else None,
        # The claims approved one by one: from the code, then kept along the refresh family.
        "claims": parent.claims
        if parent
        else (_granted_claims(authorization_code) if authorization_code else None),
        # The browser session the family started in; a refresh stays in its parent's.
        "sid": parent.sid if parent else (authorization_code.sid if authorization_code else ""),
    }
    # Raises token_insert.ClientGone if the client was deleted meanwhile.
    return token_insert.insert_token(
        values,
        client=client,
        user=user,
        access_lifetime=int(token.get("expires_in") or server_settings.OAUTH2_ACCESS_TOKEN_LIFETIME),
        refresh_lifetime=server_settings.OAUTH2_REFRESH_TOKEN_LIFETIME if refresh else None,
    )


def _granted_claims(code: AuthorizationCode) -> dict | None:
    granted = {target: code.get_granted_claims(target) for target in ("id_token", "userinfo")}
    return {target: names for target, names in granted.items() if names} or None


class RefreshTokenRevoked(Exception):
    """The refresh token was revoked after the request read it (a logout, a bulk revocation
    that the refresh waited for): it must not rotate, and nobody reused it."""


def rotate_refresh_token(token: Token) -> bool:
    """Mark a refresh token used. True for the one caller that wins a race; False if it had
    already been rotated (reuse). Raises RefreshTokenRevoked if it was revoked since `token`
    was read (the revocation holds the client lock this waits for, so it is seen here)."""
    locks.hold_client_for_issuance(token.client_id)
    mine = Token.objects.filter(pk=token.pk, rotated_at__isnull=True)
    if mine.filter(revoked_at__isnull=True).update(rotated_at=timezone.now()) == 1:
        return True
    if mine.exists():
        raise RefreshTokenRevoked(token.pk)
    return False


def revoke_token_family(token: Token, *, reason: str = "refresh token reused") -> int:
    """Revoke every token in `token`'s rotation family (RFC 9700 §4.14.2)."""
    return revoke_tokens(
        Token.objects.filter(family_id=token.family_id),
        actor=Actor.system("reuse-detection"),
        reason=reason,
        criteria={"family_id": str(token.family_id)},
    )


def _note_revocation(token: Token, *, actor: Actor, reason: str, at, count: int, criteria: dict) -> None:
    # What the write did, on the object the RFC 7009 endpoint passes to `token_revoked`: that
    # signal is the one event for this fact, and its receivers read who, why and how many here.
    if count and token.revoked_at is None:  # an earlier revocation keeps its own who and why
        token.revoked_at, token.revoked_by, token.revoked_reason = at, actor.label[:200], reason[:200]
    token.revocation_count = count
    token.revocation_criteria = criteria


def revoke_single_token(token: Token, *, actor: Actor, reason: str) -> bool:
    """Revoke one token pair through RFC 7009. True if it was active.

    Sends no signal of ours: the revocation endpoint that calls it sends the spec's
    `token_revoked` with this token, whose `revoked_*`, `revocation_count` and
    `revocation_criteria` then say what was written (`server.events`). It runs the event's
    recorders (`events.record`) in the UPDATE's transaction, so the audit record commits with
    the revocation. Other callers revoke through `revoke_tokens`, which announces itself.

    One conditional UPDATE, without `revoke_tokens`' client lock: that lock is for revocations
    that must also catch tokens still being issued, and one existing row has none in flight.
    On PostgreSQL a token still active when it was looked up is revoked by one statement with
    its audit event (`server.hotpath.riders`); if another revocation got there first, nothing
    is written and the revocation is recorded as below, as one that changed nothing."""
    now = timezone.now()
    if connection.vendor == "postgresql" and token.revoked_at is None:
        try:
            with riders.one_statement():
                revocation.defer_revocation(token, at=now, by=actor.label[:200], reason=reason[:200])
                _note_revocation(
                    token, actor=actor, reason=reason, at=now, count=1, criteria={"token_id": token.pk}
                )
                events.record("token_revoked", sender=Token, token=token, request=None, client=None)
            return True
        except revocation.AlreadyRevoked:
            # Recorded below, as a revocation that changed nothing: not as this one's who and why.
            token.revoked_at, token.revoked_by, token.revoked_reason = None, "", ""
    with transaction.atomic(savepoint=False):
        count = _stamp_revoked(Token.objects.filter(pk=token.pk), actor=actor, reason=reason, at=now)
        if not count and token.revoked_at is None:
            # Revoked by someone else since it was looked up: the event says who and why.
            token.refresh_from_db(fields=["revoked_at", "revoked_by", "revoked_reason"])
        _note_revocation(
            token, actor=actor, reason=reason, at=now, count=count, criteria={"token_id": token.pk}
        )
        events.record("token_revoked", sender=Token, token=token, request=None, client=None)
    return count == 1


def revoke_refresh_token_family(token: Token, *, actor: Actor, reason: str) -> int:
    """Revoke a refresh token through RFC 7009, and with it its whole rotation family (RFC 7009
    §2.1); return how many tokens changed. Like `revoke_single_token`, it leaves the event to
    the endpoint's `token_revoked` (the family's count and id are on `token`), and records it
    in the same transaction."""
    criteria = {"family_id": str(token.family_id)}
    with transaction.atomic():
        count, now = _revoke_holding_locks(
            Token.objects.filter(family_id=token.family_id), actor=actor, reason=reason, criteria=criteria
        )
        _note_revocation(token, actor=actor, reason=reason, at=now, count=count, criteria=criteria)
        events.record("token_revoked", sender=Token, token=token, request=None, client=None)
    return count


def clear_expired_tokens(
    *, batch_size: int = 10_000, progress=None, actor: Actor | None = None, from_start: bool = False
) -> int:
    """Delete tokens whose access and refresh tokens have both expired, and expired codes
    (authorization codes and device authorizations, counted together as `codes_deleted`),
    in batches of `batch_size` (each its own short transaction), and the client sessions of
    OP sessions that ended a day ago (`client_sessions_deleted`). Returns tokens deleted.

    Walks the tokens by primary key and records the last key of each batch with its delete
    (`SweepPosition`), so a run that was interrupted resumes after that key instead of reading
    the deleted range again; a pass that reaches the end starts the next run from the
    beginning. `from_start` ignores a recorded position. `progress(deleted_so_far, last_key)`
    is called after each batch.

    Sends `expired_tokens_cleared` (how many tokens and codes) once, after the last batch."""
    actor = actor or Actor.system("cleartokens")
    now = timezone.now()
    position, _ = SweepPosition.objects.get_or_create(name=SweepPosition.CLEARTOKENS)
    if from_start or position.last_key == 0:
        position.last_key, position.started_at = 0, now
    last_key = position.last_key
    total = 0
    expired = Token.objects.filter(expires_at__lte=now).exclude(refresh_expires_at__gt=now)
    while True:
        # Keyset, not "the first N expired": the range behind us is never read again, even
        # while its deleted rows still sit in the index waiting for vacuum. The batch is a key
        # range, (last_key, upper], holding `batch_size` expired tokens: the statements below
        # name the range, not ten thousand ids.
        ahead = expired.filter(pk__gt=last_key)
        found = list(ahead.order_by("pk").values_list("pk", flat=True)[batch_size - 1 : batch_size])
        upper = found[0] if found else ahead.aggregate(last=Max("pk"))["last"]
        if upper is None:
            break
        batch = expired.filter(pk__gt=last_key, pk__lte=upper)
        with transaction.atomic():
            # Children of a deleted parent keep their family id; the link itself is cleared.
            Token.objects.filter(parent_id__in=batch.values("pk")).update(parent=None)
            # One DELETE per batch: Django's delete() would load every row to run its cascade
            # (measured: 99.5 s and 9,000 queries for 970k tokens).
            deleted = batch._raw_delete(batch.db)
            SweepPosition.objects.filter(pk=position.pk).update(
                last_key=upper, started_at=position.started_at, updated_at=timezone.now()
            )
        last_key = upper
        total += deleted
        if progress:
            progress(total, last_key)
        if not found:
            break  # that was the last, short, batch
    # The pass is complete: the next run starts from the first token again.
    SweepPosition.objects.filter(pk=position.pk).update(last_key=0, updated_at=timezone.now())
    # Codes are kept an hour past expiry so a late replay is still recognised; then they go.
    old_codes = AuthorizationCode.objects.filter(expires_at__lte=now - timedelta(hours=1))
    with transaction.atomic():
        Token.objects.filter(authorization_code__in=old_codes.values("pk")).update(authorization_code=None)
        codes = old_codes._raw_delete(old_codes.db)
        # Device authorizations (RFC 8628) too, an hour past their expiry.
        old_devices = DeviceAuthorization.objects.filter(expires_at__lte=now - timedelta(hours=1))
        codes += old_devices._raw_delete(old_devices.db)
        # The clients of OP sessions that logged out a day ago (logout no longer needs them).
        ended = ClientSession.objects.filter(ended_at__lte=now - timedelta(days=1))
        # With their back-channel deliveries (finished: the retry budget lasts minutes).
        deliveries = BackchannelDelivery.objects.filter(session__in=ended)
        deliveries._raw_delete(deliveries.db)
        sessions = ended._raw_delete(ended.db)
        send_after_commit(
            signals.expired_tokens_cleared,
            tokens_deleted=total,
            codes_deleted=codes,
            client_sessions_deleted=sessions,
            actor=actor,
            at=now,
        )
    return total


def touch_token(token_id: int, at) -> None:
    """Set a token's `last_used_at` (one UPDATE, no signal).

    Called on the bearer-check path, so callers throttle it (the audit log does so at most once
    per token per AUDIT_TOKEN_USE_INTERVAL) rather than writing on every request. The statement
    is written once (compiling the queryset's UPDATE cost more than PostgreSQL's answer, on
    every UserInfo request of a sign-in: its token's first use).
    """
    db = database()
    field = Token._meta.get_field("last_used_at")
    with prepared_cursor(db) as cursor:
        cursor.execute(_touch_sql(db.vendor), [field.get_db_prep_save(at, db), token_id])


@cache
def _touch_sql(vendor: str) -> str:
    del vendor  # the cache key
    q = connection.ops.quote_name
    return f"UPDATE {q(Token._meta.db_table)} SET {q('last_used_at')} = %s WHERE {q('id')} = %s"  # noqa: S608
