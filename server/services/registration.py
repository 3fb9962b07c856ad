"""Dynamic client registration (RFC 7591 / RFC 7592): initial access tokens, registration
access tokens, and the registration write itself."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from server import credentials, policies, signals
from server.actors import Actor
from server.models import Client, InitialAccessToken
from server.services._after_commit import send_after_commit
from server.services.clients import create_client


def create_initial_access_token(
    *,
    actor: Actor,
    description: str = "",
    expires_at=None,
    max_registrations: int = 1,
    allowed_scope: Iterable[str] = (),
    allowed_grant_types: Iterable[str] = ("authorization_code", "refresh_token"),
    created_by=None,
) -> tuple[InitialAccessToken, str]:
    """Create an initial access token for dynamic registration; return it and its plain value."""
    if max_registrations < 1:
        raise policies.PolicyError("Allow at least one registration.", field="max_registrations")
    scopes = policies.validate_scopes(list(allowed_scope))
    grants = policies.validate_grant_types(list(allowed_grant_types), public=False)
    plain = credentials.generate("initial_access_token")
    now = timezone.now()
    with transaction.atomic():
        row = InitialAccessToken.objects.create(
            digest=credentials.digest(plain),
            prefix=credentials.display_prefix(plain),
            description=description,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
            max_registrations=max_registrations,
            allowed_scope=" ".join(scopes),
            allowed_grant_types=" ".join(grants),
        )
        send_after_commit(signals.initial_access_token_created, initial_access_token=row, actor=actor, at=now)
    return row, plain


def _use_initial_access_token(token: InitialAccessToken) -> bool:
    """Count one registration against `token`; False if it expired, was revoked or is used up.

    One conditional UPDATE, so parallel registrations with one token can never exceed
    `max_registrations`. A step of `register_dynamic_client`, inside the transaction that
    creates the client (whose `client_created` announces the registration).
    """
    now = timezone.now()
    won = (
        InitialAccessToken.objects.filter(
            pk=token.pk, revoked_at__isnull=True, registrations__lt=F("max_registrations")
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .update(registrations=F("registrations") + 1)
    )
    return won == 1


def _new_registration_access_token(client: Client, *, now) -> str:
    plain = credentials.generate("registration_token")
    digest = credentials.digest(plain)
    Client.objects.filter(pk=client.pk).update(registration_access_token_digest=digest, updated_at=now)
    client.registration_access_token_digest = digest
    return plain


def issue_registration_access_token(client: Client, *, actor: Actor) -> str:
    """Give `client` a new RFC 7592 registration access token; return it in plain text, once.

    Only its digest is stored; an earlier registration access token stops working. Sends
    `registration_access_token_issued` after commit (a registration's own token is part of its
    `client_created` instead).
    """
    replaced = bool(client.registration_access_token_digest)
    now = timezone.now()
    with transaction.atomic():
        plain = _new_registration_access_token(client, now=now)
        send_after_commit(
            signals.registration_access_token_issued, client=client, replaced=replaced, actor=actor, at=now
        )
    return plain


def register_dynamic_client(
    *, initial_access_token: InitialAccessToken | None, actor: Actor, **client_settings
) -> tuple[Client, str | None, str]:
    """Register a client through RFC 7591: count the registration against the initial access
    token, create the client (source DCR) and its registration access token, in one transaction.

    Returns (client, plain secret or None, plain registration access token); show both once.
    Raises PolicyError(code="invalid_token") when the initial access token was used up
    meanwhile, or the PolicyError of `create_client`; either way nothing is written.
    `initial_access_token` is None only for open registration.
    """
    client_settings["source"] = Client.Source.DCR
    with transaction.atomic():
        if initial_access_token is not None and not _use_initial_access_token(initial_access_token):
            raise policies.PolicyError(
                "The initial access token has expired, was revoked or is used up.", code="invalid_token"
            )
        client, secret = create_client(actor=actor, **client_settings)
        registration_token = _new_registration_access_token(client, now=timezone.now())
    return client, secret, registration_token


def revoke_initial_access_tokens(tokens: QuerySet[InitialAccessToken], *, actor: Actor) -> int:
    """Revoke initial access tokens so they register no more clients; return how many changed.

    Clients already registered with them are not affected. Sends `initial_access_token_revoked`
    (which ones, how many) after commit when any was still usable.
    """
    now = timezone.now()
    with transaction.atomic():
        # The ids first, so the event names the tokens this call revoked (not ones revoked earlier).
        ids = list(tokens.filter(revoked_at__isnull=True).values_list("pk", flat=True))
        count = InitialAccessToken.objects.filter(pk__in=ids, revoked_at__isnull=True).update(revoked_at=now)
        if count:
            send_after_commit(
                signals.initial_access_token_revoked,
                initial_access_tokens=ids,
                count=count,
                actor=actor,
                at=now,
            )
    return count
