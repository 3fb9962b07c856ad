"""Reads of the end user's account pages."""

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from server.models import Consent, Token, is_well_formed_client_id


def authorized_apps(user) -> QuerySet[Consent]:
    """The consents `user` gave, each with its client and `last_used`: the latest use (or issue)
    of any of the user's tokens for that client. One query, however many apps."""
    last_token_use = (
        Token.objects.filter(user=OuterRef("user"), client=OuterRef("client"))
        .annotate(used=Coalesce("last_used_at", "issued_at"))
        .order_by("-used")
        .values("used")[:1]
    )
    return (
        Consent.objects.filter(user=user)
        .select_related("client")
        .annotate(last_used=Subquery(last_token_use))
        .order_by("client__name", "pk")
    )


def authorized_app(user, client_id: str) -> Consent:
    """The consent `user` gave to one client; 404 when there is none (or the id is no client_id)."""
    if not is_well_formed_client_id(client_id):
        raise Http404("No such app.")
    return get_object_or_404(Consent.objects.select_related("client"), user=user, client__client_id=client_id)
