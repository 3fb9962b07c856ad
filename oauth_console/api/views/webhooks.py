"""Webhook subscriptions (docs/webhooks.md): list, subscribe (the signing secret shown once),
read, change, delete, rotate the secret, send a test event, their deliveries, replay one. Every
write goes through `oauth_console.webhooks.services` with the caller as actor."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from oauth_console.api import webhook_serializers as s
from oauth_console.api.auth import WRITE_WEBHOOKS
from oauth_console.api.base import OperatorAPIView
from oauth_console.api.idempotency import idempotent
from oauth_console.api.pagination import OffsetPage
from oauth_console.api.views.clients import IDEMPOTENCY_KEY
from oauth_console.webhooks import selectors, services
from oauth_console.webhooks.models import Delivery, Subscription

TAG = ["webhooks"]


def _subscription(subscription_id: int) -> Subscription:
    return get_object_or_404(Subscription.objects.prefetch_related("secrets"), pk=subscription_id)


class SubscriptionList(OperatorAPIView):
    scopes = {"GET": (WRITE_WEBHOOKS,), "POST": (WRITE_WEBHOOKS,)}
    pagination_class = OffsetPage
    serializer_class = s.SubscriptionOut

    @extend_schema(tags=TAG, operation_id="webhooks_list")
    def get(self, request):
        self.query_values(s.PageQuery)
        found = Subscription.objects.prefetch_related("secrets").order_by("pk")
        return self.get_paginated_response(s.SubscriptionOut(self.paginate_queryset(found), many=True).data)

    @extend_schema(
        tags=TAG,
        operation_id="webhooks_create",
        request=s.SubscriptionIn,
        responses={201: s.SubscriptionCreatedOut},
        parameters=[IDEMPOTENCY_KEY],
        description="Subscribe an https endpoint to event types; the signing secret is in this answer only.",
    )
    def post(self, request):
        return idempotent(request, request.user.label, self._create)

    def _create(self) -> Response:
        values = self.validated(s.SubscriptionIn)
        subscription, secret = services.create_subscription(actor=self.actor, **values)
        body = {**s.SubscriptionOut(_subscription(subscription.pk)).data, "signing_secret": secret}
        return Response(body, status=201)


class SubscriptionDetail(OperatorAPIView):
    scopes = {"GET": (WRITE_WEBHOOKS,), "PATCH": (WRITE_WEBHOOKS,), "DELETE": (WRITE_WEBHOOKS,)}
    serializer_class = s.SubscriptionOut

    @extend_schema(tags=TAG, operation_id="webhooks_read")
    def get(self, request, subscription_id: int):
        return Response(s.SubscriptionOut(_subscription(subscription_id)).data)

    @extend_schema(tags=TAG, operation_id="webhooks_change", request=s.SubscriptionChangeIn)
    def patch(self, request, subscription_id: int):
        subscription = _subscription(subscription_id)
        services.update_subscription(subscription, actor=self.actor, **self.validated(s.SubscriptionChangeIn))
        return Response(s.SubscriptionOut(_subscription(subscription_id)).data)

    @extend_schema(tags=TAG, operation_id="webhooks_delete", request=None, responses={204: None})
    def delete(self, request, subscription_id: int):
        services.delete_subscription(_subscription(subscription_id), actor=self.actor)
        return Response(status=204)


class SecretRotate(OperatorAPIView):
    scopes = {"POST": (WRITE_WEBHOOKS,)}
    serializer_class = s.SecretRotatedOut

    @extend_schema(
        tags=TAG,
        operation_id="webhooks_rotate_secret",
        request=None,
        responses={201: s.SecretRotatedOut},
        parameters=[IDEMPOTENCY_KEY],
        description="A new signing secret (shown once); the older ones keep signing for "
        "OAUTH2_WEBHOOK_SECRET_OVERLAP seconds, so deliveries carry both signatures meanwhile.",
    )
    def post(self, request, subscription_id: int):
        return idempotent(request, request.user.label, lambda: self._rotate(subscription_id))

    def _rotate(self, subscription_id: int) -> Response:
        self.validated(s.EmptyIn, data=self.request.data or {})
        rotated = services.rotate_subscription_secret(_subscription(subscription_id), actor=self.actor)
        body = {"signing_secret": rotated.secret, "previous_secrets_sign_until": rotated.previous_expires_at}
        return Response(body, status=201)


class SendTestEvent(OperatorAPIView):
    scopes = {"POST": (WRITE_WEBHOOKS,)}
    serializer_class = s.DeliveryOut

    @extend_schema(
        tags=TAG,
        operation_id="webhooks_send_test_event",
        request=None,
        responses={202: s.DeliveryOut},
        description="Queue a signed webhook.test message for this endpoint (the worker sends it).",
    )
    def post(self, request, subscription_id: int):
        self.validated(s.EmptyIn, data=request.data or {})
        delivery = services.send_test_event(_subscription(subscription_id), actor=self.actor)
        return Response(s.DeliveryOut(delivery).data, status=202)


class DeliveryList(OperatorAPIView):
    scopes = {"GET": (WRITE_WEBHOOKS,)}
    pagination_class = OffsetPage
    serializer_class = s.DeliveryOut

    @extend_schema(tags=TAG, operation_id="webhooks_deliveries", parameters=[s.DeliveryQuery])
    def get(self, request, subscription_id: int):
        values = self.query_values(s.DeliveryQuery)
        found = selectors.recent_deliveries(_subscription(subscription_id), state=values.get("state") or "")
        return self.get_paginated_response(s.DeliveryOut(self.paginate_queryset(found), many=True).data)


class DeliveryReplay(OperatorAPIView):
    scopes = {"POST": (WRITE_WEBHOOKS,)}
    serializer_class = s.DeliveryOut

    @extend_schema(
        tags=TAG,
        operation_id="webhooks_replay",
        request=None,
        responses={202: s.DeliveryOut},
        description="Queue the same message again (same webhook-id and body) after the pending ones.",
    )
    def post(self, request, subscription_id: int, delivery_id: int):
        self.validated(s.EmptyIn, data=request.data or {})
        delivery = get_object_or_404(Delivery, pk=delivery_id, subscription_id=subscription_id)
        replay = services.replay_delivery(delivery, actor=self.actor)
        return Response(s.DeliveryOut(replay).data, status=202)
