"""Authorization codes (store, redeem, expire) and the consent a user gave a client."""

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from server import credentials, signals
from server.actors import Actor
from server.conf import server_settings
from server.hotpath import locks, sign_in, sql
from server.models import AuthorizationCode, Client, ClientSession, Consent, DeviceAuthorization, Token
from server.services._after_commit import send_after_commit
from server.services.tokens import _stamp_revoked


def store_authorization_code(
    *,
    code: str,
    client: Client,
    user,
    redirect_uri: str,
    scope: str,
    code_challenge: str = "",
    code_challenge_method: str = "",
    nonce: str = "",
    auth_time: int | None = None,
    sid: str = "",
    amr: list[str] | None = None,
    claims: dict | None = None,
    consented_claims: list[str] | tuple[str, ...] = (),
    audience: list[str] | tuple[str, ...] = (),
) -> AuthorizationCode:
    """Store a newly issued authorization code (only its digest). `auth_time`: when the user
    signed in (seconds since the epoch), for the ID token; None when unknown. `sid`: the OP
    session of a code for an ID token, whose client is then one that session's logout notifies.
    `amr`: how they signed in (OpenID Connect's amr values); `claims`: the request's parsed
    `claims` parameter; `consented_claims`: those of its claims the person approved one by one.
    `audience`: the RFC 8707 resources it was granted for (none: the default API)."""
    now = timezone.now()
    # The client is one that session's logout notifies (once per pair: a row that ignores the
    # pair already being there).
    client_session = ClientSession(sid=sid, client=client, user=user, created_at=now) if sid else None
    stored = AuthorizationCode(
        code_digest=credentials.digest(code),
        client=client,
        user=user,
        redirect_uri=redirect_uri or "",
        scope=scope or "",
        code_challenge=code_challenge or "",
        code_challenge_method=code_challenge_method or "",
        nonce=nonce or "",
        audience=" ".join(audience),
        auth_time=datetime.fromtimestamp(auth_time, tz=UTC) if auth_time else None,
        sid=sid or "",
        amr=" ".join(amr or [])[:64],
        claims=claims,
        consented_claims=" ".join(consented_claims),
        created_at=now,
        expires_at=now + timedelta(seconds=server_settings.OAUTH2_AUTHORIZATION_CODE_LIFETIME),
    )
    sign_in.store_code(stored, client_session)
    return stored


def redeem_authorization_code(code: AuthorizationCode) -> bool:
    """Mark a code used. True for the one caller that wins; False if it was already used
    (one conditional UPDATE, so parallel redemptions of one code yield one winner)."""
    locks.hold_client_for_issuance(code.client_id)
    now = timezone.now()
    # Also unexpired at the claim: a consent revoked between the lookup and this UPDATE
    # expired the code (`revoke_consent`), and that must win.
    return sign_in.claim_code(code.pk, now)


def record_consent(*, user, client: Client, scope: str, claims: list[str] | tuple[str, ...] = ()) -> Consent:
    """Remember that `user` approved `client` for `scope` and the individually listed `claims`
    (OpenID Connect's claims parameter), merged with what they approved before."""
    with transaction.atomic():
        consent, created = Consent.objects.select_for_update().get_or_create(
            user=user, client=client, defaults={"scope": scope, "claims": " ".join(claims)}
        )
        if not created:
            merged = " ".join(dict.fromkeys([*consent.scope.split(), *scope.split()]))
            merged_claims = " ".join(dict.fromkeys([*consent.claims.split(), *claims]))
            if (merged, merged_claims) != (consent.scope, consent.claims):
                consent.scope, consent.claims = merged, merged_claims
                consent.save(update_fields=["scope", "claims", "updated_at"])
    return consent


def _expire_unredeemed(codes: QuerySet[AuthorizationCode]) -> int:
    # Expired rather than deleted or marked used: a later redemption is then a plain
    # invalid_grant, not a replay that revokes tokens. Expired as of their own creation time, so
    # no clock difference between the database and this process can leave one usable.
    return codes.filter(used_at__isnull=True).update(expires_at=F("created_at"))


def expire_unredeemed_codes(
    codes: QuerySet[AuthorizationCode], *, actor: Actor, reason: str, criteria: dict | None = None
) -> int:
    """Make every unredeemed code in `codes` unusable with one UPDATE; return how many.

    A code being exchanged meanwhile either wins its own conditional UPDATE first (it is then
    redeemed, and not counted here) or finds the code expired. Sends
    `authorization_codes_expired` (how many, why, `criteria` describing the set) after commit."""
    criteria = criteria or {}
    with transaction.atomic():
        count = _expire_unredeemed(codes)
        send_after_commit(
            signals.authorization_codes_expired,
            count=count,
            reason=reason,
            criteria=criteria,
            actor=actor,
            at=timezone.now(),
        )
    return count


def revoke_consent(*, user, client: Client, actor: Actor) -> int:
    """Forget `user`'s consent for `client`, revoke every token of that user for it and expire
    the codes it was given but has not redeemed yet (they would mint tokens the user can no
    longer see; approved device authorizations not yet collected count as codes). Returns how
    many tokens were revoked."""
    with transaction.atomic():
        # A refresh or a code exchange racing this must not leave a new token behind (see
        # revoke_tokens; redeem_authorization_code waits on this lock, then finds the code expired).
        locks.hold_clients_for_revocation(Q(pk=client.pk))
        now = sql.database_now()
        Consent.objects.filter(user=user, client=client).delete()
        codes = _expire_unredeemed(AuthorizationCode.objects.filter(user=user, client=client))
        # And the devices they approved that have not collected their token (RFC 8628).
        codes += DeviceAuthorization.objects.filter(
            user=user, client=client, status=DeviceAuthorization.Status.APPROVED
        ).update(status=DeviceAuthorization.Status.DENIED, decided_at=now)
        count = _stamp_revoked(
            Token.objects.filter(user=user, client=client),
            actor=actor,
            reason="access revoked by the user",
            at=now,
        )
        send_after_commit(
            signals.consent_revoked,
            client=client,
            user=user,
            tokens_revoked=count,
            codes_expired=codes,
            actor=actor,
            at=now,
        )
    return count
