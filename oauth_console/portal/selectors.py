"""Reads of the developer portal: a developer's apps with their usage, in a fixed number of queries."""

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from server.models import Client, is_well_formed_client_id


def _with_usage(clients: QuerySet[Client]) -> QuerySet[Client]:
    now = timezone.now()
    return clients.annotate(
        active_tokens=Count(
            "tokens", filter=Q(tokens__revoked_at__isnull=True, tokens__expires_at__gt=now), distinct=True
        ),
        # A token never used since it was issued was last "used" when it was issued.
        last_used=Max(Coalesce("tokens__last_used_at", "tokens__issued_at")),
    )


def _well_formed(client_id: str) -> None:
    # An id from the address no client can have (a NUL: PostgreSQL refuses it in a query).
    if not is_well_formed_client_id(client_id):
        raise Http404("No such app.")


def developer_clients(user) -> QuerySet[Client]:
    """The apps `user` owns, newest first, with `active_tokens` and `last_used` (one query)."""
    return _with_usage(Client.objects.filter(owner=user)).order_by("-created_at")


def developer_client(user, client_id: str) -> Client:
    """One app of `user` with its usage; 404 for anyone else's app, so ids do not leak."""
    _well_formed(client_id)
    return get_object_or_404(_with_usage(Client.objects.filter(owner=user)), client_id=client_id)


def owned_client(user, client_id: str) -> Client:
    """One app of `user`, for writing (no aggregates); 404 for anyone else's app."""
    _well_formed(client_id)
    return get_object_or_404(Client, owner=user, client_id=client_id)
