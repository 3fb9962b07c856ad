"""Initial access tokens (RFC 7591 §3): list, create (the token shown once), revoke."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from oauth_console.api import selectors
from oauth_console.api import serializers as s
from oauth_console.api.auth import READ_CLIENTS, WRITE_CLIENTS
from oauth_console.api.base import OperatorAPIView
from oauth_console.api.idempotency import idempotent
from oauth_console.api.pagination import OffsetPage
from oauth_console.api.views.clients import IDEMPOTENCY_KEY
from server import services

TAG = ["initial access tokens"]


class InitialAccessTokenList(OperatorAPIView):
    scopes = {"GET": (READ_CLIENTS,), "POST": (WRITE_CLIENTS,)}
    pagination_class = OffsetPage
    serializer_class = s.InitialAccessTokenOut

    @extend_schema(
        tags=TAG, operation_id="initial_access_tokens_list", parameters=[s.InitialAccessTokenQuery]
    )
    def get(self, request):
        values = self.query_values(s.InitialAccessTokenQuery)
        found = selectors.initial_access_tokens(usable=values.get("usable"))
        return self.get_paginated_response(
            s.InitialAccessTokenOut(self.paginate_queryset(found), many=True).data
        )

    @extend_schema(
        tags=TAG,
        operation_id="initial_access_tokens_create",
        request=s.InitialAccessTokenIn,
        responses={201: s.InitialAccessTokenCreatedOut},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request):
        return idempotent(request, request.user.label, self._create)

    def _create(self) -> Response:
        data = self.validated(s.InitialAccessTokenIn)
        row, plain = services.create_initial_access_token(
            actor=self.actor, created_by=self.request.user.user, **data
        )
        return Response({**s.InitialAccessTokenOut(row).data, "token": plain}, status=201)


class InitialAccessTokenRevoke(OperatorAPIView):
    scopes = {"POST": (WRITE_CLIENTS,)}
    serializer_class = s.InitialAccessTokenOut

    @extend_schema(tags=TAG, operation_id="initial_access_tokens_revoke", request=None)
    def post(self, request, token_id: int):
        row = selectors.initial_access_token(token_id)
        services.revoke_initial_access_tokens(type(row).objects.filter(pk=row.pk), actor=self.actor)
        return Response(s.InitialAccessTokenOut(selectors.initial_access_token(token_id)).data)
