"""The OpenID Provider's signing keys: list (kid, algorithm, state, dates, whether the JWKS
publishes it; never the private half), rotate, revoke (server/services/signing_keys.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from oauth_console.api import selectors
from oauth_console.api import serializers as s
from oauth_console.api.auth import READ_CLIENTS, WRITE_KEYS
from oauth_console.api.base import OperatorAPIView
from server import services

TAG = ["signing keys"]


def _key_out(key, published: set[int]) -> dict:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "state": key.state,
        "published": key.pk in published,
        "public_jwk": key.public_jwk,
        "created_at": key.created_at,
        "activated_at": key.activated_at,
        "retired_at": key.retired_at,
        "revoked_at": key.revoked_at,
    }


class SigningKeyList(OperatorAPIView):
    scopes = {"GET": (WRITE_KEYS, READ_CLIENTS)}
    serializer_class = s.SigningKeyOut

    @extend_schema(tags=TAG, operation_id="signing_keys_list", responses=s.SigningKeyOut(many=True))
    def get(self, request):
        keys, published = selectors.signing_keys()
        return Response(s.SigningKeyOut([_key_out(key, published) for key in keys], many=True).data)


class SigningKeyRotate(OperatorAPIView):
    scopes = {"POST": (WRITE_KEYS,)}
    serializer_class = s.RotationStepOut

    @extend_schema(
        tags=TAG,
        operation_id="signing_keys_rotate",
        request=s.KeyRotateIn,
        responses=s.RotationStepOut(many=True),
        description="Activate each algorithm's next key once its lead time has passed (at once with "
        "force), and publish a new next key: what `manage.py rotate_signing_keys` does.",
    )
    def post(self, request):
        values = self.validated(s.KeyRotateIn)
        steps = services.rotate_signing_keys(actor=self.actor, algs=values.get("algs"), force=values["force"])
        return Response(s.RotationStepOut(steps, many=True).data)


class SigningKeyRevoke(OperatorAPIView):
    scopes = {"POST": (WRITE_KEYS,)}
    serializer_class = s.SigningKeyOut

    @extend_schema(
        tags=TAG,
        operation_id="signing_keys_revoke",
        request=s.ReasonIn,
        responses=s.SigningKeyOut,
        description="Withdraw a key at once (it leaked): never published again; tokens it signed "
        "stop verifying.",
    )
    def post(self, request, kid: str):
        reason = self.validated(s.ReasonIn)["reason"]
        key = services.revoke_signing_key(selectors.signing_key(kid), actor=self.actor, reason=reason)
        _keys, published = selectors.signing_keys()
        return Response(s.SigningKeyOut(_key_out(key, published)).data)
