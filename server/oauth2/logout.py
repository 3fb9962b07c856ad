"""OpenID Connect logout: RP-Initiated Logout 1.0 on authlib's `EndSessionEndpoint`, and the
logout token of Back-Channel Logout 1.0, on joserfc.

Model-agnostic. A server keeps an OP session id (`sid`) per browser sign-in in the session
(`session_id_of`), puts it in the ID tokens it issues there, and remembers which clients got
one; logging the session out sends each of them a logout token (`create_logout_token`).

The end-session endpoint::

    endpoint = EndSessionEndpoint(published_keys=lambda: [...public JWKs...], issuer=...)
    server.register_endpoint(endpoint)
    end_session = endpoint.validate_request(server.parse_request(request, AUTHORIZATION_STYLE))
    # end_session.client, .id_token_claims (verified: signature, issuer; expiry not checked),
    # .redirect_uri (registered exactly, with `state`), .needs_confirmation

`client.check_post_logout_redirect_uri(uri)` decides whether a URI is registered (exact match).
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.rpinitiated import EndSessionEndpoint as _AuthlibEndSessionEndpoint
from authlib.oidc.rpinitiated import EndSessionRequest
from joserfc import jws, jwt
from joserfc.errors import JoseError

from .id_tokens import is_id_token_type
from .keys import SIGNING_ALGORITHMS, key_set
from .requests import DEFAULT_PARAMETER_LIMITS, check_parameter_lengths

__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "LOGOUT_TOKEN_TYPE",
    "SID_SESSION_KEY",
    "EndSessionEndpoint",
    "EndSessionRequest",
    "create_logout_token",
    "new_session_id",
    "session_id_of",
]

# Where the OP session id is kept in the Django session.
SID_SESSION_KEY = "server.oauth2.sid"
# Back-Channel Logout §2.4: the one member of the logout token's `events` claim.
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# Back-Channel Logout §2.4 (and RFC 8725 §3.11): the logout token's `typ`, so that it cannot be
# taken for an ID token (which has a `nonce` rule and no `events`).
LOGOUT_TOKEN_TYPE = "logout+jwt"
# A logout token is used at once by the RP's back channel: two minutes is plenty.
LOGOUT_TOKEN_LIFETIME = 120
# The end-session request's parameters with a length limit (they are echoed or verified).
LOGOUT_PARAMETERS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "logout_hint",
    "ui_locales",
)
_INVALID_HINT = "The id_token_hint is not an ID token issued by this server."


def new_session_id() -> str:
    """A fresh OP session id: 256 random bits, base64url (43 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def session_id_of(session: Any, *, create: bool = False) -> str | None:
    """The OP session id kept in `session`; with `create`, a new one when there is none (a
    sign-in from before ids were kept, or a session that never recorded one)."""
    if session is None:
        return None
    sid = session.get(SID_SESSION_KEY)
    if isinstance(sid, str) and sid:
        return sid
    if not create:
        return None
    sid = new_session_id()
    session[SID_SESSION_KEY] = sid
    return sid


def create_logout_token(
    *,
    issuer: str,
    client_id: str,
    signing_key: Callable[[str], tuple[str, Any]],
    alg: str = "RS256",
    sub: str | None = None,
    sid: str | None = None,
    lifetime: int = LOGOUT_TOKEN_LIFETIME,
) -> str:
    """A signed logout token (Back-Channel Logout §2.4) for `client_id`: iss, aud, iat, exp, a
    fresh jti, `sub` and/or `sid`, the back-channel logout event, never a nonce. `signing_key`
    is the ID tokens' `(alg) -> (kid, private key)`; `alg` the client's ID-token algorithm."""
    if not sub and not sid:
        raise ValueError("A logout token names a subject (sub), a session (sid) or both.")
    if alg not in SIGNING_ALGORITHMS:
        raise ValueError(f"Unsupported signing algorithm {alg!r}.")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    if sub:
        claims["sub"] = sub
    if sid:
        claims["sid"] = sid
    kid, key = signing_key(alg)
    return jwt.encode({"alg": alg, "kid": kid, "typ": LOGOUT_TOKEN_TYPE}, claims, key, algorithms=[alg])


class EndSessionEndpoint(_AuthlibEndSessionEndpoint):
    """RP-Initiated Logout §2-§4 on authlib's endpoint.

    `published_keys()` gives the public JWKs an `id_token_hint` is verified against (those of
    the JWKS endpoint: a retired key still verifies, a revoked one does not); `issuer` (a value
    or a callable of the request) must be the hint's `iss`. A hint must also name a subject and
    an audience. Without a hint, `client_id` alone lets the endpoint redirect to one of that
    client's registered URIs once the person has confirmed (the page the server shows when
    `needs_confirmation`): the URI is registered, so the redirect cannot go anywhere else.
    """

    def __init__(
        self,
        server: Any = None,
        *,
        published_keys: Callable[[], Iterable[dict]],
        issuer: Callable[[Any], str | None] | str | None = None,
    ) -> None:
        super().__init__(server)
        self.published_keys = published_keys
        self.issuer = issuer

    def get_server_jwks(self):
        return key_set(self.published_keys())

    def get_algorithms(self) -> list[str]:
        return list(SIGNING_ALGORITHMS)

    def _validate_id_token_hint(self, id_token_hint: str) -> dict:
        # authlib checks the signature and the claims, not the type: a logout token or a JWT
        # access token signed with the same keys would pass for an ID token (id_tokens).
        claims = super()._validate_id_token_hint(id_token_hint)
        header = jws.extract_compact(id_token_hint.encode("ascii")).headers()
        if not is_id_token_type(header.get("typ")):
            raise InvalidRequestError(_INVALID_HINT)
        return claims

    def expected_issuer(self, request: Any) -> str | None:
        issuer = self.issuer
        return issuer(request) if callable(issuer) else issuer

    def validate_request(self, request: Any) -> EndSessionRequest:
        """The request's client, verified hint claims and redirect (None: show a page); an
        InvalidRequestError (never redirected, §4) for a hint this server did not issue, a
        client_id the hint was not issued to, an unknown client_id, or a
        post_logout_redirect_uri that the named client did not register exactly."""
        data = request.payload.data
        limits = getattr(self.server, "parameter_limits", None) or DEFAULT_PARAMETER_LIMITS
        check_parameter_lengths(data, limits, LOGOUT_PARAMETERS)
        try:
            validated = super().validate_request(request)
        except (ValueError, TypeError, JoseError):
            # joserfc raises ValueError for a token that is not even a JWS, MissingKeyError when
            # no key is published yet (so nothing can be ours).
            raise InvalidRequestError(_INVALID_HINT) from None
        except InvalidRequestError as error:
            if data.get("id_token_hint") and error.description != "'client_id' does not match 'aud' claim":
                raise InvalidRequestError(_INVALID_HINT) from None
            raise InvalidRequestError("The client_id is not an audience of the id_token_hint.") from None
        claims = validated.id_token_claims
        if claims is not None:
            issuer = self.expected_issuer(request)
            if (issuer and claims.get("iss") != issuer) or not isinstance(claims.get("sub"), str):
                raise InvalidRequestError(_INVALID_HINT)
        if data.get("client_id") and validated.client is None:
            raise InvalidRequestError("The client_id names no client of this server.")
        asked = data.get("post_logout_redirect_uri")
        if asked and not validated.redirect_uri:
            # §3: never redirected; an error page rather than a silent logout, so that the
            # relying party's mistake (or a forged link) is seen and nothing happens.
            if validated.client is None:
                raise InvalidRequestError(
                    "A post_logout_redirect_uri needs the client named: send id_token_hint or client_id."
                )
            raise InvalidRequestError("The post_logout_redirect_uri is not registered for this client.")
        return validated

    def _is_valid_post_logout_redirect_uri(self, client: Any, post_logout_redirect_uri: str) -> bool:
        return bool(client.check_post_logout_redirect_uri(post_logout_redirect_uri))

    def is_post_logout_redirect_uri_legitimate(self, request, post_logout_redirect_uri, client, logout_hint):
        # The client was named (client_id) and the URI is one it registered; the person confirms
        # the logout first (needs_confirmation), so a forged link only logs out after a click.
        return bool(request.payload.data.get("client_id"))

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        # The server's view ends the Django session itself (it must also notify the clients).
        raise NotImplementedError("The server ends the session; call validate_request only.")
