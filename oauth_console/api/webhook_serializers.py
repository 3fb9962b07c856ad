"""What the webhook endpoints read and answer (docs/webhooks.md). Strict as the rest
(`StrictSerializer`, strict JSON types); the webhook services judge the values themselves."""

from __future__ import annotations

from rest_framework import serializers

from oauth_console.api.base import StrictSerializer
from oauth_console.api.serializers import Flag, Text
from oauth_console.webhooks.models import MAX_EVENT_TYPES, Delivery


class SubscriptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    secret_prefixes = serializers.SerializerMethodField(
        help_text="The signing secrets (their prefixes), newest first."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_secret_prefixes(self, subscription) -> list[str]:
        return [secret.prefix for secret in subscription.secrets.all()]


class SubscriptionCreatedOut(SubscriptionOut):
    signing_secret = serializers.CharField(help_text="The signing secret (whsec_...), shown this once.")


class SubscriptionIn(StrictSerializer):
    name = Text(max_length=200)
    url = Text(max_length=2000)
    event_types = serializers.ListField(child=Text(max_length=64), max_length=MAX_EVENT_TYPES)
    is_active = Flag(required=False, default=True)


class SubscriptionChangeIn(StrictSerializer):
    name = Text(max_length=200, required=False)
    url = Text(max_length=2000, required=False)
    event_types = serializers.ListField(child=Text(max_length=64), max_length=MAX_EVENT_TYPES, required=False)
    is_active = Flag(required=False)


class SecretRotatedOut(serializers.Serializer):
    signing_secret = serializers.CharField(help_text="The new signing secret, shown this once.")
    previous_secrets_sign_until = serializers.DateTimeField()


class DeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.CharField(help_text="The webhook-id header: the same on retries and replays.")
    event_type = serializers.CharField()
    state = serializers.ChoiceField(choices=Delivery.State.choices)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_latency_ms = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    finished_at = serializers.DateTimeField(allow_null=True)
    replay_of = serializers.IntegerField(source="replay_of_id", allow_null=True)


class DeliveryQuery(StrictSerializer):
    state = serializers.ChoiceField(choices=Delivery.State.choices, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)
    offset = serializers.IntegerField(min_value=0, required=False)


class PageQuery(StrictSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)
    offset = serializers.IntegerField(min_value=0, required=False)


class EmptyIn(StrictSerializer):
    """A POST that takes no body (or `{}`): any field is refused."""
