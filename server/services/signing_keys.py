"""The OpenID Provider's signing keys: create (as *next*), activate, retire, revoke, rotate.

Every change is one transaction and one event. The private key is generated here, encrypted at
once (`server.key_crypto`) and never returned by anything but `private_key_of`, which hands the
signer a key object, not its bytes. A key is made on first need (`signing_key_for`), so a fresh
install signs its first ID token without a manual step.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from server import key_crypto, signals
from server.actors import Actor
from server.conf import server_settings
from server.hotpath import sign_in
from server.models import SigningKey
from server.oauth2 import keys
from server.services._after_commit import send_after_commit

State = SigningKey.State


class SigningKeyError(ValueError):
    """A key change the key's state does not allow (the message says why)."""


def create_signing_key(*, alg: str = "RS256", actor: Actor) -> SigningKey:
    """Make a new key pair for `alg` in state *next*: published in the JWKS, signing nothing yet."""
    if alg not in keys.SIGNING_ALGORITHMS:
        raise SigningKeyError(f"Unsupported signing algorithm {alg!r}.")
    kid, public_jwk, private_jwk = keys.generate_signing_key(alg)
    now = timezone.now()
    with transaction.atomic():
        key = SigningKey.objects.create(
            kid=kid,
            alg=alg,
            state=State.NEXT,
            public_jwk=public_jwk,
            private_key_encrypted=key_crypto.encrypt_private_key(kid, private_jwk),
            created_at=now,
        )
        send_after_commit(signals.signing_key_created, key=key, actor=actor, at=now)
    return key


def activate_signing_key(key: SigningKey, *, actor: Actor) -> SigningKey:
    """Make a *next* key the one that signs for its algorithm; the key it replaces is retired
    (still published until the tokens it signed have expired)."""
    now = timezone.now()
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().get(pk=key.pk)
        if key.state != State.NEXT:
            raise SigningKeyError(f"Only a next key can be activated; {key.kid} is {key.state}.")
        retired = SigningKey.objects.select_for_update().filter(alg=key.alg, state=State.ACTIVE).first()
        if retired is not None:
            retired.state, retired.retired_at = State.RETIRED, now
            retired.save(update_fields=["state", "retired_at"])
        key.state, key.activated_at = State.ACTIVE, now
        key.save(update_fields=["state", "activated_at"])
        send_after_commit(signals.signing_key_activated, key=key, retired=retired, actor=actor, at=now)
    return key


def retire_signing_key(key: SigningKey, *, actor: Actor) -> SigningKey:
    """Stop an active key signing; it stays published until its tokens have expired. The next
    ID token is signed by the *next* key (activated then) or a new one."""
    now = timezone.now()
    with transaction.atomic():
        changed = SigningKey.objects.filter(pk=key.pk, state=State.ACTIVE).update(
            state=State.RETIRED, retired_at=now
        )
        if not changed:
            raise SigningKeyError(f"Only the active key can be retired; {key.kid} is {key.state}.")
        key.state, key.retired_at = State.RETIRED, now
        send_after_commit(signals.signing_key_retired, key=key, actor=actor, at=now)
    return key


def revoke_signing_key(key: SigningKey, *, actor: Actor, reason: str = "") -> SigningKey:
    """Withdraw a key at once (it leaked, say): never published again, so every token it signed
    stops verifying. A revoked active key is replaced on the next ID token."""
    now = timezone.now()
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().get(pk=key.pk)
        if key.state == State.REVOKED:
            raise SigningKeyError(f"{key.kid} is already revoked.")
        previous = key.state
        key.state, key.revoked_at = State.REVOKED, now
        key.save(update_fields=["state", "revoked_at"])
        send_after_commit(
            signals.signing_key_revoked,
            key=key,
            previous_state=previous,
            reason=reason[:200],
            actor=actor,
            at=now,
        )
    return key


@dataclass(frozen=True)
class RotationStep:
    """One thing `rotate_signing_keys` did or declined to do, for the command to print."""

    action: str  # "activated", "created", "waiting"
    key: SigningKey
    note: str = ""


def rotate_signing_keys(*, actor: Actor, algs=None, force: bool = False) -> list[RotationStep]:
    """Rotate each algorithm's keys: activate its *next* key once it has been published for
    OAUTH2_SIGNING_KEY_LEAD_TIME (at once with `force`), then make sure a new *next* key is
    published. `algs`: default, every algorithm with a key (RS256 on a fresh install)."""
    if algs is None:
        algs = list(SigningKey.objects.exclude(state=State.REVOKED).values_list("alg", flat=True).distinct())
        algs = sorted(set(algs)) or ["RS256"]
    lead = timedelta(seconds=server_settings.OAUTH2_SIGNING_KEY_LEAD_TIME)
    steps: list[RotationStep] = []
    for alg in algs:
        upcoming = SigningKey.objects.filter(alg=alg, state=State.NEXT).order_by("created_at").first()
        if upcoming is not None:
            ready_at = upcoming.created_at + lead
            if force or ready_at <= timezone.now():
                steps.append(RotationStep("activated", activate_signing_key(upcoming, actor=actor)))
                upcoming = None
            else:
                since = f"{upcoming.created_at:%Y-%m-%d %H:%M}"
                note = f"published since {since}; activates after {ready_at:%Y-%m-%d %H:%M}"
                steps.append(RotationStep("waiting", upcoming, note))
        if upcoming is None:
            steps.append(RotationStep("created", create_signing_key(alg=alg, actor=actor)))
    return steps


def rotate_signing_keys_if_due(*, actor: Actor, now=None) -> list[RotationStep]:
    """Rotation by age, for a periodic job: for each algorithm whose active key has signed for
    OAUTH2_SIGNING_KEY_MAX_AGE, rotate (activating the *next* key once it has waited the lead
    time); a lead time before that, publish the *next* key if there is none, so it is ready.
    Nothing when the setting is 0 (off) or no key is due; safe to run as often as you like."""
    max_age = server_settings.OAUTH2_SIGNING_KEY_MAX_AGE
    if not max_age:
        return []
    now = now or timezone.now()
    max_age, lead = (
        timedelta(seconds=max_age),
        timedelta(seconds=server_settings.OAUTH2_SIGNING_KEY_LEAD_TIME),
    )
    steps: list[RotationStep] = []
    for active in SigningKey.objects.filter(state=State.ACTIVE).order_by("alg"):
        signing_since = active.activated_at or active.created_at
        has_next = SigningKey.objects.filter(alg=active.alg, state=State.NEXT).exists()
        if signing_since + max_age <= now:
            steps += rotate_signing_keys(actor=actor, algs=[active.alg])
        elif not has_next and signing_since + max_age - lead <= now:
            steps.append(RotationStep("created", create_signing_key(alg=active.alg, actor=actor)))
    return steps


def signing_key_for(alg: str) -> SigningKey:
    """The key that signs for `alg` now: the active one; else the *next* one, activated; else a
    new one, created and activated (first need: a fresh install, or after a revocation)."""
    # On every ID token: the columns signing needs, no ORDER BY (one active key per algorithm,
    # by constraint), in a statement written once (the queryset's compiling cost more than
    # PostgreSQL's answer).
    key = sign_in.active_signing_key(alg)
    if key is not None:
        return key
    actor = Actor.system("first signing key")
    try:
        with transaction.atomic():
            upcoming = SigningKey.objects.filter(alg=alg, state=State.NEXT).order_by("created_at").first()
            return activate_signing_key(upcoming or create_signing_key(alg=alg, actor=actor), actor=actor)
    except (IntegrityError, SigningKeyError):
        # A concurrent request activated one first (the one-active-key constraint): use it.
        return SigningKey.objects.get(alg=alg, state=State.ACTIVE)


def private_key_of(key: SigningKey):
    """The key object that signs with `key` (decrypted once per process and kid)."""
    return keys.import_private_key(
        key.kid, key_crypto.decrypt_private_key(key.kid, key.private_key_encrypted)
    )
