"""A client's secrets: list (prefixes and dates, never a digest), rotate with a grace period,
expire one now."""

from __future__ import annotations

from datetime import timedelta

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from oauth_console.api import selectors
from oauth_console.api import serializers as s
from oauth_console.api.auth import READ_CLIENTS, WRITE_CLIENTS
from oauth_console.api.base import OperatorAPIView
from oauth_console.api.idempotency import idempotent
from oauth_console.api.views.clients import IDEMPOTENCY_KEY
from server import selectors as server_selectors
from server import services

TAG = ["secrets"]


class SecretList(OperatorAPIView):
    scopes = {"GET": (READ_CLIENTS,)}
    serializer_class = s.SecretOut

    @extend_schema(tags=TAG, operation_id="secrets_list", responses=s.SecretOut(many=True))
    def get(self, request, client_id: str):
        secrets = server_selectors.client_secrets(selectors.client(client_id))
        return Response(s.SecretOut(secrets, many=True).data)


class SecretRotate(OperatorAPIView):
    scopes = {"POST": (WRITE_CLIENTS,)}
    serializer_class = s.RotatedOut

    @extend_schema(
        tags=TAG,
        operation_id="secrets_rotate",
        request=s.RotateIn,
        responses={201: s.RotatedOut},
        parameters=[IDEMPOTENCY_KEY],
        description="A new secret (shown once); the unexpired old ones keep working for the grace period.",
    )
    def post(self, request, client_id: str):
        return idempotent(request, request.user.label, lambda: self._rotate(client_id))

    def _rotate(self, client_id: str) -> Response:
        client = selectors.client(client_id)
        grace = timedelta(seconds=self.validated(s.RotateIn)["grace_period_seconds"])
        rotated = services.rotate_client_secret(
            client, actor=self.actor, grace=grace, operator_scopes_allowed=self.request.user.operator_scopes
        )
        body = {
            "client_id": client.client_id,
            "client_secret": rotated.secret,
            "secret": s.SecretOut(rotated.row).data,
            "previous_secrets_expire_at": rotated.previous_expires_at.isoformat(),
        }
        return Response(body, status=201)


class SecretExpire(OperatorAPIView):
    scopes = {"POST": (WRITE_CLIENTS,)}
    serializer_class = s.SecretOut

    @extend_schema(tags=TAG, operation_id="secrets_expire", request=None, responses=s.SecretOut)
    def post(self, request, client_id: str, secret_id: int):
        secret = selectors.client_secret(selectors.client(client_id), secret_id)
        if not secret.is_expired:
            secret = services.expire_client_secret(secret, actor=self.actor)
        return Response(s.SecretOut(secret).data)
