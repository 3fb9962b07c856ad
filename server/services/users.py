"""Users: what happens to their OAuth grants when they go, and developer sign-up."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from server import signals
from server.actors import Actor
from server.hotpath import locks, sql
from server.models import AuthorizationCode, DeviceAuthorization, Token
from server.services._after_commit import send_after_commit
from server.services.tokens import _stamp_revoked


def revoke_user_access(user, *, actor: Actor, reason: str) -> int:
    """End every OAuth grant `user` holds: revoke all their still-active tokens (one UPDATE,
    every client), delete their unredeemed authorization codes and deny the devices they
    approved that have not collected their token (`codes_voided` counts both). Returns the
    tokens revoked.

    Called when a user is deactivated or deleted (`server.receivers`). Sends
    `user_access_revoked` even when there was nothing to revoke: the deactivation itself is
    worth a line in the audit log. Tokens issued while this runs are refused anyway: the
    protocol checks refuse an inactive user's tokens (`server.bindings`)."""
    with transaction.atomic():
        tokens = Token.objects.filter(user=user)
        # A refresh racing this must not leave a new token behind (see revoke_tokens).
        locks.hold_clients_for_revocation(Q(pk__in=tokens.order_by().values("client_id")))
        now = sql.database_now()
        count = _stamp_revoked(tokens, actor=actor, reason=reason, at=now)
        # Unredeemed codes go (redeemed ones stay until expiry, for replay detection): a code
        # marked used would look replayed when presented, and report an attack that is none.
        codes = AuthorizationCode.objects.filter(user=user, used_at__isnull=True)
        voided = codes._raw_delete(codes.db)
        # Approved device authorizations whose token was not collected yet (RFC 8628).
        voided += DeviceAuthorization.objects.filter(
            user=user, status=DeviceAuthorization.Status.APPROVED
        ).update(status=DeviceAuthorization.Status.DENIED, decided_at=now)
        send_after_commit(
            signals.user_access_revoked,
            user_id=user.pk,
            username=user.get_username(),
            reason=reason,
            tokens_revoked=count,
            codes_voided=voided,
            actor=actor,
            at=now,
        )
    return count


def sign_up_developer(*, username: str, email: str, password: str):
    """Create a developer account from a validated sign-up (the portal's form checks the name,
    the address and the password first); return the user.

    The password is stored hashed (`set_password`), the account gets no staff rights, and
    `developer_signed_up` is sent after commit: a new account is worth a line in the audit log.
    """
    user = get_user_model()(username=username, email=email)
    user.set_password(password)
    now = timezone.now()
    with transaction.atomic():
        user.save()
        send_after_commit(signals.developer_signed_up, user=user, actor=Actor.developer(user), at=now)
    return user
