"""Tokens: search (never a token or its digest: prefixes, dates, state), bulk revocation by
criteria (with `dry_run` for the count), and consents (list, revoke)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from oauth_console.api import selectors
from oauth_console.api import serializers as s
from oauth_console.api.auth import READ_CLIENTS, REVOKE_TOKENS
from oauth_console.api.base import OperatorAPIView
from oauth_console.api.pagination import OffsetPage, TokenCursor
from server import selectors as server_selectors
from server import services

_CRITERIA = ("client_id", "user", "prefix", "issued_after", "issued_before")


def _criteria(values: dict) -> dict:
    return {name: values[name] for name in _CRITERIA if values.get(name) not in (None, "")}


class TokenList(OperatorAPIView):
    scopes = {"GET": (READ_CLIENTS,)}
    pagination_class = TokenCursor
    serializer_class = s.TokenOut

    @extend_schema(tags=["tokens"], operation_id="tokens_list", parameters=[s.TokenQuery])
    def get(self, request):
        values = self.query_values(s.TokenQuery)
        found = selectors.tokens(**_criteria(values), state=values.get("state", ""))
        page = self.paginate_queryset(found.select_related("client", "user"))
        return self.get_paginated_response(s.TokenOut(page, many=True).data)


class TokenBulkRevoke(OperatorAPIView):
    scopes = {"POST": (REVOKE_TOKENS,)}
    serializer_class = s.RevokedOut

    @extend_schema(
        tags=["tokens"],
        operation_id="tokens_revoke",
        request=s.BulkRevokeIn,
        responses=s.RevokedOut,
        parameters=[OpenApiParameter("dry_run", bool, description="Same as the body's dry_run.")],
        description="Revoke every active token matching all the criteria given (at least one) in one "
        "UPDATE; with dry_run, count them and revoke nothing.",
    )
    def post(self, request):
        dry_run_query = self.query_values(DryRunQuery).get("dry_run", False)
        values = self.validated(s.BulkRevokeIn)
        criteria = _criteria(values)
        tokens = selectors.tokens(**criteria)
        if values["dry_run"] or dry_run_query:
            count = server_selectors.tokens_with_status("active", queryset=tokens).count()
            return Response({"count": count, "dry_run": True})
        recorded = {name: str(value) for name, value in criteria.items()}
        count = services.revoke_tokens(tokens, actor=self.actor, reason=values["reason"], criteria=recorded)
        return Response({"count": count, "dry_run": False})


class DryRunQuery(s.StrictSerializer):
    dry_run = s.Flag(required=False)


class ConsentList(OperatorAPIView):
    scopes = {"GET": (READ_CLIENTS,)}
    pagination_class = OffsetPage
    serializer_class = s.ConsentOut

    @extend_schema(tags=["consents"], operation_id="consents_list", parameters=[s.ConsentQuery])
    def get(self, request):
        values = self.query_values(s.ConsentQuery)
        found = selectors.consents(client_id=values.get("client_id", ""), user=values.get("user", ""))
        return self.get_paginated_response(s.ConsentOut(self.paginate_queryset(found), many=True).data)


class ConsentRevoke(OperatorAPIView):
    scopes = {"DELETE": (REVOKE_TOKENS,)}
    serializer_class = s.RevokedOut

    @extend_schema(
        tags=["consents"],
        operation_id="consents_revoke",
        responses=s.RevokedOut,
        description="Forget the consent, revoke the user's tokens for the client, expire its "
        "unredeemed codes.",
    )
    def delete(self, request, consent_id: int):
        consent = selectors.consent(consent_id)
        count = services.revoke_consent(user=consent.user, client=consent.client, actor=self.actor)
        return Response({"count": count, "dry_run": False})
