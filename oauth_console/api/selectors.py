"""The API's reads: each a queryset narrowed by the caller's filters, in the order its
pagination reads (newest first, ties broken by id). Nothing here writes."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from server import policies, selectors
from server.models import (
    Client,
    ClientSecret,
    Consent,
    InitialAccessToken,
    SigningKey,
    Token,
    is_well_formed_client_id,
)


def clients(
    *, status: str = "", client_type: str = "", owner: str = "", name: str = "", source: str = ""
) -> QuerySet[Client]:
    """Clients, newest first, filtered by status, type, owner's user name, source, and a part of
    the name (case-insensitive)."""
    found = Client.objects.select_related("owner").order_by("-created_at", "-id")
    if status:
        found = found.filter(status=status)
    if client_type:
        found = found.filter(client_type=client_type)
    if owner:
        found = found.filter(owner__username=owner)
    if source:
        found = found.filter(source=source)
    if name:
        found = found.filter(name__icontains=name)
    return found


def client(client_id: str) -> Client:
    """The client with `client_id`, or 404 (for an id no client can have, without a query)."""
    if not is_well_formed_client_id(client_id):
        raise Http404("No such client.")
    return get_object_or_404(Client.objects.select_related("owner"), client_id=client_id)


def client_secret(client_: Client, secret_id: int) -> ClientSecret:
    """One of the client's secrets (without its digest), or 404."""
    return get_object_or_404(
        ClientSecret.objects.defer("digest").select_related("client"), client=client_, pk=secret_id
    )


def tokens(
    *,
    client_id: str = "",
    user: str = "",
    prefix: str = "",
    state: str = "",
    issued_after: datetime | None = None,
    issued_before: datetime | None = None,
) -> QuerySet[Token]:
    """Tokens, newest first: of a client (its client_id), of a user (user name), whose access or
    refresh token starts with `prefix` (the non-secret prefix the console shows), in a state
    (active, expired, revoked), issued in a time range. Digests are never read."""
    found = Token.objects.defer("access_token_digest", "refresh_token_digest").order_by("-issued_at", "-id")
    if client_id:
        found = found.filter(client__client_id=client_id)
    if user:
        found = found.filter(user__username=user)
    if prefix:
        found = found.filter(
            Q(access_token_prefix__startswith=prefix) | Q(refresh_token_prefix__startswith=prefix)
        )
    if issued_after is not None:
        found = found.filter(issued_at__gte=issued_after)
    if issued_before is not None:
        found = found.filter(issued_at__lt=issued_before)
    if state:
        found = selectors.tokens_with_status(state, queryset=found)
    return found


def consents(*, client_id: str = "", user: str = "") -> QuerySet[Consent]:
    """Remembered consents, newest first, of a client and/or a user (user name)."""
    found = Consent.objects.select_related("client", "user").order_by("-granted_at", "-id")
    if client_id:
        found = found.filter(client__client_id=client_id)
    if user:
        found = found.filter(user__username=user)
    return found


def consent(consent_id: int) -> Consent:
    return get_object_or_404(Consent.objects.select_related("client", "user"), pk=consent_id)


def initial_access_tokens(*, usable: bool | None = None) -> QuerySet[InitialAccessToken]:
    """Initial access tokens, newest first (their digests never read); `usable` narrows to the
    ones that can still register (True) or cannot (False)."""
    found = InitialAccessToken.objects.defer("digest").order_by("-created_at", "-id")
    if usable is None:
        return found
    # InitialAccessToken.is_usable, as a condition.
    condition = (
        Q(revoked_at__isnull=True)
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        & Q(registrations__lt=F("max_registrations"))
    )
    return found.filter(condition) if usable else found.exclude(condition)


def initial_access_token(token_id: int) -> InitialAccessToken:
    return get_object_or_404(InitialAccessToken.objects.defer("digest"), pk=token_id)


def signing_keys() -> tuple[QuerySet[SigningKey], set[int]]:
    """Every signing key (newest first, private halves never read) and the ids the JWKS
    publishes now."""
    keys = SigningKey.objects.defer("private_key_encrypted").order_by("-created_at", "-id")
    published = set(selectors.published_signing_keys().values_list("pk", flat=True))
    return keys, published


def signing_key(kid: str) -> SigningKey:
    if not policies.could_be_identifier(kid, max_length=SigningKey._meta.get_field("kid").max_length):
        raise Http404
    return get_object_or_404(SigningKey, kid=kid)
