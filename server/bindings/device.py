"""The device authorization grant (RFC 8628) bound to our models: codes stored and found by
keyed digest, polls paced and the one token claimed by conditional UPDATEs (`services`)."""

from django.urls import reverse

from server import credentials, services
from server.bindings.lookups import digest_or_none, only_row
from server.conf import server_settings
from server.hotpath import device_polls
from server.models import Client, DeviceAuthorization
from server.oauth2 import device


def verification_uri(issuer: str) -> str:
    """The page where people type the user code: OAUTH2_DEVICE_VERIFICATION_URI, else /device."""
    return server_settings.OAUTH2_DEVICE_VERIFICATION_URI or issuer + reverse("device")


def find_waiting_device(user_code: str) -> DeviceAuthorization | None:
    """The unexpired device authorization waiting for the user who typed `user_code`
    (normalised), or None: one indexed lookup by digest."""
    found = digest_or_none(user_code)
    if found is None:
        return None
    row = only_row(DeviceAuthorization.objects.select_related("client").filter(user_code_digest=found))
    if row is None or row.status != DeviceAuthorization.Status.PENDING or row.is_expired():
        return None
    if not row.client.is_active:
        return None
    return row


class DeviceAuthorizationEndpoint(device.DeviceAuthorizationEndpoint):
    """`POST /oauth/device_authorization` on our models."""

    def get_verification_uri(self, request=None) -> str:
        return verification_uri(self.server.get_issuer(getattr(request, "django_request", None)) or "")

    def save_device_credential(self, client: Client, scope: str, data: dict, request=None):
        row = services.start_device_authorization(
            client=client,
            scope=scope,
            device_code=data["device_code"],
            user_code=device.normalize_user_code(data["user_code"]),
            expires_in=data["expires_in"],
            interval=data["interval"],
            audience=getattr(request, "resources", None) or [],
        )
        return row is not None

    def generate_device_code(self) -> str:
        return credentials.generate("device_code")


class DeviceCodeGrant(device.DeviceCodeGrant):
    """The device's polls at `/oauth/token`: the device authorization, its client (with the
    secret digests its authentication checks) and its user in one SELECT, so a waiting
    device's poll is that statement and one cache round trip for its pacing."""

    def validate_token_request(self) -> None:
        found = digest_or_none(self.request.payload.data.get("device_code"))
        self._device = device_polls.device_by_digest(found) if found is not None else None
        with device_polls.preloading(self._device.client if self._device is not None else None):
            super().validate_token_request()

    def query_device_credential(self, device_code: str, client: Client = None) -> DeviceAuthorization | None:
        row = self._device
        # Another client's code is as unknown as a made-up one (no oracle for stolen codes).
        if row is None or row.client_id != getattr(client, "pk", None):
            return None
        row.client = client  # the authenticated client row
        return row

    def should_slow_down(self, credential: DeviceAuthorization) -> bool:
        return services.record_device_poll(credential)

    def redeem_device_credential(self, credential: DeviceAuthorization) -> bool:
        return services.redeem_device_authorization(credential)
