"""The device authorization grant (RFC 8628) on authlib's endpoint and grant.

`DeviceAuthorizationEndpoint` answers `POST /device_authorization` (§3.1, §3.2): the client
authenticates as at the token endpoint (a public client names its client_id), the scope is
resolved by the authorization endpoint's rule (`grants.resolve_scope`), and the answer carries a
device code, a user code of eight consonants shown as `XXXX-XXXX`, the verification URIs, the
lifetime and the polling interval. `DeviceCodeGrant` answers the device's polls at the token
endpoint (§3.4, §3.5): `authorization_pending`, `slow_down` (a poll before the interval is up;
the interval grows by 5 s), `access_denied`, `expired_token`, and once approved one token,
claimed atomically so that of two concurrent polls one wins.

Model-agnostic: a server binds the storage hooks (`save_device_credential`,
`query_device_credential`, `should_slow_down`, `redeem_device_credential`,
`get_verification_uri`). A device credential offers `get_client_id`, `get_scope`, `is_expired`,
`get_status` ("pending", "approved", "denied" or "redeemed") and `get_user`. The page where a
person types the user code and decides is the server's (it reuses its consent page).
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from authlib.common.urls import add_params_to_uri
from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint as _AuthlibDeviceEndpoint
from authlib.oauth2.rfc8628 import DeviceCodeGrant as _AuthlibDeviceCodeGrant
from django.conf import settings
from django.db import transaction

from .client_auth import CONFIDENTIAL_CLIENT_METHODS
from .grants import resolve_scope
from .requests import DEVICE_AUTHORIZATION_STYLE
from .resource_indicators import ResourceIndicators, resolve_request_resources

__all__ = [
    "DEVICE_CODE_GRANT_TYPE",
    "USER_CODE_ALPHABET",
    "DeviceAuthorizationEndpoint",
    "DeviceCodeGrant",
    "format_user_code",
    "generate_user_code",
    "normalize_user_code",
]

# RFC 8628 §6.1: no vowels (no words spelled by chance), no digits (no 0/O, 1/I look-alikes),
# one case. 20^8 = 2.56e10 codes: about 34 bits, enough with rate-limited guessing (§5.1).
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
# Longer input is not a user code mistyped: refused before it is even normalised.
MAX_USER_CODE_INPUT = 32
# Per RFC 8628 §3.5: "the interval MUST be increased by 5 seconds" on each slow_down.
SLOW_DOWN_STEP = 5


def generate_user_code() -> str:
    """A new user code, normalised (eight characters of USER_CODE_ALPHABET, no dash)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def format_user_code(code: str) -> str:
    """`BCDFGHJK` -> `BCDF-GHJK`, as people read and type it."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_user_code(text: Any) -> str | None:
    """What a person typed, as a normalised user code, or None when it cannot be one.

    Case-insensitive; the dash and spaces are optional (§6.1: "the server should ignore
    characters like punctuation"). Only ASCII letters of the alphabet survive: a look-alike
    from another script is not silently mapped onto one."""
    if not isinstance(text, str) or len(text) > MAX_USER_CODE_INPUT:
        return None
    kept = [ch for ch in text.strip() if ch not in "- "]
    if len(kept) != USER_CODE_LENGTH or not all(ch.isascii() for ch in kept):
        return None
    code = "".join(kept).upper()
    if any(ch not in USER_CODE_ALPHABET for ch in code):
        return None
    return code


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default) or default)


class DeviceAuthorizationEndpoint(_AuthlibDeviceEndpoint):
    """RFC 8628 §3.1/§3.2 on a `ProtocolServer`; register it with `register_endpoint` and
    answer with `create_endpoint_response("device_authorization", request)`.

    Options: `expires_in` (default setting OAUTH2_DEVICE_CODE_LIFETIME or 600),
    `interval` (default setting OAUTH2_DEVICE_POLL_INTERVAL or 5), `device_code_generator`.
    Hooks to bind: `get_verification_uri(request)`, `save_device_credential(client, scope, data,
    request)` (returns False when the user code is taken: a new one is drawn).
    """

    # §3.1: the client authenticates as at the token endpoint (RFC 6749 §2.3), with any method a
    # client may hold: private_key_jwt too (RFC 7523 §2.2), or its client_id alone if public.
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [*CONFIDENTIAL_CLIENT_METHODS, "none"]
    # ProtocolServer.respond_with_endpoint parses with these rules (the token endpoint's, but an
    # empty body needs no content type).
    REQUEST_STYLE = DEVICE_AUTHORIZATION_STYLE
    # Attempts at a user code no live device holds (a clash is ~1 in 10^10 per live code).
    USER_CODE_ATTEMPTS = 5

    def __init__(
        self, server: Any = None, *, expires_in: int | None = None, interval: int | None = None
    ) -> None:
        super().__init__(server)
        self._expires_in = expires_in
        self._interval = interval

    @property
    def expires_in(self) -> int:
        """Seconds a device code lives."""
        return int(self._expires_in or _setting("OAUTH2_DEVICE_CODE_LIFETIME", 600))

    @property
    def interval(self) -> int:
        """Seconds a device waits between polls."""
        return int(self._interval or _setting("OAUTH2_DEVICE_POLL_INTERVAL", 5))

    def create_endpoint_request(self, request: Any) -> Any:
        """Strict parsing: POST, a form body (or none at all), no credentials in the URL."""
        return self.server.parse_request(request, DEVICE_AUTHORIZATION_STYLE)

    def create_endpoint_response(self, request: Any) -> tuple[int, dict, list]:
        """Authenticate the client, resolve the resources (RFC 8707, as at the authorization
        endpoint: `request.resources` is the audience to store) and the scope, issue and store
        the codes."""
        client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("This client may not use the device authorization grant.")
        request.client = client
        resolved = resolve_request_resources(self.server, request)
        self.server.validate_requested_scope(request.payload.scope)
        scope = resolve_scope(client, request.payload.scope, resolved.scopes)
        verification_uri = self.get_verification_uri(request)
        data = {"device_code": self.generate_device_code()}
        for _attempt in range(self.USER_CODE_ATTEMPTS):
            user_code = format_user_code(generate_user_code())
            data.update(
                user_code=user_code,
                verification_uri=verification_uri,
                verification_uri_complete=add_params_to_uri(verification_uri, [("user_code", user_code)]),
                expires_in=self.expires_in,
                interval=self.interval,
            )
            if self.save_device_credential(client, scope, data, request) is not False:
                return 200, data, default_json_headers
        raise OAuth2Error(
            "No free user code was found; try again.", error="temporarily_unavailable", status_code=503
        )

    def generate_user_code(self) -> str:
        """A new user code as shown (`XXXX-XXXX`)."""
        return format_user_code(generate_user_code())

    def get_verification_uri(self, request: Any = None) -> str:  # type: ignore[override]
        """The absolute URI of the page where people type the user code."""
        raise NotImplementedError()

    def save_device_credential(self, client: Any, scope: str, data: dict, request: Any = None) -> Any:  # type: ignore[override]
        """Store the device authorization (`data` holds the plain codes: store digests) with its
        audience, `request.resources` (RFC 8707; []: the default resource). Return False when
        the user code is already held by another device authorization."""
        raise NotImplementedError()


class DeviceCodeGrant(ResourceIndicators, _AuthlibDeviceCodeGrant):
    """RFC 8628 §3.4/§3.5 at the token endpoint.

    The token's audience, format, lifetime and scope come from the resources the device
    authorization named (RFC 8707, `credential.get_audience()`), resolved as a code exchange
    resolves its code's: a `resource` in the token request narrows within them (else
    invalid_target, and the device code is not spent), and the permission is checked again.

    Hooks to bind: `query_device_credential(device_code, client)` (the client's own credential or
    None: another client's code is as unknown as a made-up one), `should_slow_down(credential)`
    (records the poll; True when it came before the interval was up), and
    `redeem_device_credential(credential)` (claims an approved credential; False when a
    concurrent poll claimed it first).
    """

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [*CONFIDENTIAL_CLIENT_METHODS, "none"]

    def validate_token_request(self) -> None:
        """The device code, the client, and the state of the user's decision (§3.5)."""
        device_code = self.request.payload.data.get("device_code")
        if not device_code:
            raise InvalidRequestError("Missing 'device_code' in request.")
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("This client may not use the device_code grant.")
        credential = self.query_device_credential(device_code, client)
        if credential is None:
            raise InvalidGrantError("Invalid 'device_code' in request.")
        self.request.client = client
        self.request.credential = credential
        self.request.user = self.validate_device_credential(credential)

    def validate_device_credential(self, credential: Any) -> Any:
        """The user who approved, or the §3.5 error saying why there is no token (yet)."""
        if credential.is_expired():
            raise ExpiredTokenError("The device code has expired; start a new device authorization.")
        status = credential.get_status()
        if status == "denied":
            raise AccessDeniedError("The authorization request was denied.")
        if status == "redeemed":
            raise InvalidGrantError("The device code was already used.")
        if status == "approved":
            user = credential.get_user()
            if user is None or not getattr(user, "is_active", True):
                raise InvalidGrantError("The user who approved this device is no longer active.")
            # Only for the poll that may collect: a waiting device's poll stays one lookup.
            getter = getattr(credential, "get_audience", None)
            self.resolve_resources(within=list(getter() or []) if getter else [])
            return user
        if self.should_slow_down(credential):
            raise SlowDownError(f"Polling too fast: wait {SLOW_DOWN_STEP} seconds longer between requests.")
        raise AuthorizationPendingError("The user has not answered yet.")

    @hooked
    def create_token_response(self) -> tuple[int, dict, list]:
        """Claim the approved device code (once, atomically), then issue and save the token."""
        client = self.request.client
        credential = self.request.credential
        with transaction.atomic():
            if not self.redeem_device_credential(credential):
                raise InvalidGrantError("The device code was already used.")
            token = self.generate_token(
                user=self.request.user,
                scope=credential.get_scope(),
                include_refresh_token=client.check_grant_type("refresh_token"),
            )
            self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def query_device_credential(self, device_code: str, client: Any = None) -> Any:  # type: ignore[override]
        """The device credential for `device_code` issued to `client`, or None."""
        raise NotImplementedError()

    def should_slow_down(self, credential: Any) -> bool:
        """Record this poll; True when it came before the credential's interval was up."""
        raise NotImplementedError()

    def redeem_device_credential(self, credential: Any) -> bool:
        """Claim an approved credential for one token; False when it was already claimed."""
        raise NotImplementedError()
