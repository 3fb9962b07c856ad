"""OpenID Connect ID tokens on the code, refresh and device-code grants (OIDC Core §3.1, §12.2;
RFC 8628 with `openid`), on authlib's `OpenIDCode` extension and joserfc.

Register the extensions with the grants; they act only when the granted scope holds `openid`::

    server.register_grant(AuthorizationCodeGrant, [OpenIDCode(signing_key=..., user_claims=...)])
    server.register_grant(RefreshTokenGrant, [OpenIDRefresh(signing_key=..., user_claims=...)])

`signing_key(alg) -> (kid, private key)` supplies the key (a joserfc key, never `none`);
`user_claims(user, scopes, client) -> dict` the claims for the granted scopes (and, for the claims
a person approved one by one, which a code or refresh token answers with
`get_granted_claims("id_token")`, exactly those, read with their scopes); `subject(user,
client) -> str` the `sub` (default: the user's primary key). The ID token carries `iss`, `sub`,
`aud`, `exp`, `iat`, `auth_time` (when the sign-in time is known: `record_sign_in` keeps it in
the session), `nonce` (exactly as sent, code flow only), `at_hash`, `sid` (the OP session the
code was issued in, Back-Channel Logout §2.1, when known), and `azp` with more than one audience.
The authorization request is checked for OpenID's rules: `redirect_uri` required,
`request`/`request_uri` refused (`request_not_supported` / `request_uri_not_supported`),
`prompt=none` alone, `max_age` a whole number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oidc.core import OpenIDCode as _AuthlibOpenIDCode
from authlib.oidc.core.errors import RequestNotSupportedError, RequestURINotSupportedError
from authlib.oidc.core.util import create_half_hash
from django.conf import settings
from joserfc import jwt
from joserfc.errors import JoseError

from .claims_request import add_granted_claims, essential_acr_unmet, parse_claims_request
from .digits import whole_number
from .errors import UnmetAuthenticationRequirementsError
from .keys import SIGNING_ALGORITHMS, key_set

__all__ = [
    "AUTH_TIME_SESSION_KEY",
    "OpenIDCode",
    "OpenIDDevice",
    "OpenIDRefresh",
    "amr_of",
    "auth_time_of",
    "is_id_token_type",
    "is_openid_request",
    "read_id_token_hint",
    "record_sign_in",
]

# Where the sign-in time (seconds since the epoch) is kept in the Django session.
AUTH_TIME_SESSION_KEY = "server.oauth2.auth_time"
AMR_SESSION_KEY = "server.oauth2.amr"
# Claims the server sets; a claims hook cannot replace them.
PROTOCOL_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "c_hash", "azp", "acr", "amr", "sid"}
)
PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
# The largest max_age (seconds) a request may name: ten digits, more than three centuries.
MAX_MAX_AGE = 9_999_999_999

SigningKey = Callable[[str], tuple[str, Any]]
UserClaims = Callable[[Any, list[str], Any], dict]
Subject = Callable[[Any, Any], str]


def record_sign_in(session: Any, at: float | None = None, amr: Iterable[str] = ()) -> None:
    """Remember in the session when the user signed in (call it on `user_logged_in`) and how:
    `amr`, RFC 8176 method values ("pwd" for a password); none when the method is not known."""
    session[AUTH_TIME_SESSION_KEY] = int(at if at is not None else time.time())
    methods = [m for m in amr if isinstance(m, str) and m]
    if methods:
        session[AMR_SESSION_KEY] = methods
    else:
        session.pop(AMR_SESSION_KEY, None)  # an earlier sign-in's methods do not carry over


def amr_of(session: Any) -> list[str] | None:
    """How the session's user signed in (RFC 8176 values), or None when it was not recorded."""
    value = session.get(AMR_SESSION_KEY) if session is not None else None
    return list(value) if isinstance(value, list) and value else None


def auth_time_of(session: Any) -> int | None:
    """When the session's user signed in, or None when it was not recorded."""
    value = session.get(AUTH_TIME_SESSION_KEY) if session is not None else None
    return value if isinstance(value, int) else None


def is_openid_request(scope: str | None) -> bool:
    """True when `scope` holds `openid`."""
    return "openid" in (scope_to_list(scope) or [])


def default_subject(user: Any, client: Any) -> str:
    """The public subject identifier: the user's primary key, as text."""
    return str(user.pk)


# The `typ` of the ID tokens this server signs. The same keys sign logout tokens (`logout+jwt`)
# and JWT access tokens (`at+jwt`), each naming a user to a client with iss, sub and aud: only
# the header tells them apart (RFC 8725 §3.11), so a hint must say it is an ID token.
ID_TOKEN_TYPE = "JWT"


def is_id_token_type(typ: Any) -> bool:
    """True for the `typ` header of an ID token: this server's `JWT`, or none (OIDC Core does
    not require one); never another token's explicit type (`logout+jwt`, `at+jwt`)."""
    return typ is None or (isinstance(typ, str) and typ.upper() == ID_TOKEN_TYPE)


def read_id_token_hint(hint: str, published: Iterable[dict], issuer: str | None) -> dict:
    """The claims of an ID token this server issued (signature checked against `published`, the
    JWKS's keys; expiry not checked, as OIDC Core §3.1.2.1 allows; its `typ` an ID token's, not
    a logout token's or an access token's); InvalidRequestError otherwise."""
    try:
        token = jwt.decode(hint, key_set(published), algorithms=list(SIGNING_ALGORITHMS))
    except (JoseError, ValueError, TypeError):
        raise InvalidRequestError("The id_token_hint is not an ID token issued by this server.") from None
    if not is_id_token_type(token.header.get("typ")):
        raise InvalidRequestError("The id_token_hint is not an ID token issued by this server.")
    if (issuer and token.claims.get("iss") != issuer) or not isinstance(token.claims.get("sub"), str):
        raise InvalidRequestError("The id_token_hint is not an ID token issued by this server.")
    return token.claims


class _IDTokenIssuer:
    """What both extensions share: build and sign the ID token after the token response."""

    DEFAULT_ALGORITHM = "RS256"

    def __init__(
        self,
        *,
        signing_key: SigningKey,
        user_claims: UserClaims | None = None,
        subject: Subject | None = None,
        lifetime: int | None = None,
    ) -> None:
        self.signing_key = signing_key
        self.user_claims = user_claims or (lambda user, scopes, client: {})
        self.subject = subject or default_subject
        self.lifetime = lifetime

    def get_lifetime(self) -> int:
        """Seconds an ID token is valid: the option, else the OAUTH2_ID_TOKEN_LIFETIME setting."""
        return int(self.lifetime or getattr(settings, "OAUTH2_ID_TOKEN_LIFETIME", 3600) or 3600)

    def get_client_algorithm(self, client: Any) -> str:
        """The client's `id_token_signed_response_alg` (RS256 or ES256), default RS256; never none."""
        alg = getattr(client, "id_token_signed_response_alg", "") or self.DEFAULT_ALGORITHM
        return alg if alg in SIGNING_ALGORITHMS else self.DEFAULT_ALGORITHM

    def get_sign_in(self, credential: Any) -> tuple[int | None, list[str] | None]:
        """When and how (amr) the user signed in for the code or refresh token being exchanged
        (None: unknown). A code answers with `get_auth_time()` and `get_amr()`."""
        getter = getattr(credential, "get_auth_time", None)
        auth_time = getter() if getter else None
        getter = getattr(credential, "get_amr", None)
        amr = getter() if getter else None
        return (int(auth_time) if auth_time else None), (list(amr) if amr else None)

    def get_session_id(self, credential: Any) -> str | None:
        """The OP session (`sid`) the code or refresh token being exchanged belongs to, or None."""
        getter = getattr(credential, "get_session_id", None)
        return (getter() if getter else None) or None

    def process_token(self, grant: Any, response: tuple) -> None:
        """authlib's after_create_token_response hook: add `id_token` when `openid` was granted."""
        _status, token, _headers = response
        if isinstance(token, dict) and is_openid_request(token.get("scope")):
            token["id_token"] = self.create_id_token(grant, token)

    def create_id_token(self, grant: Any, token: dict) -> str:
        """The signed ID token for the token `grant` just issued."""
        request = grant.request
        client, user = request.client, request.user
        alg = self.get_client_algorithm(client)
        now = int(time.time())
        scopes = scope_to_list(token.get("scope")) or []
        code = getattr(request, "authorization_code", None)
        credential = code if code is not None else getattr(request, "refresh_token", None)
        granted = getattr(credential, "get_granted_claims", None)
        claims = add_granted_claims(
            self.user_claims(user, scopes, client),
            self.user_claims,
            user,
            scopes,
            client,
            granted("id_token") if granted else [],
        )
        claims = {k: v for k, v in claims.items() if k not in PROTOCOL_CLAIMS}
        client_id = client.get_client_id()
        claims.update(
            iss=grant.server.get_issuer(getattr(request, "django_request", None)),
            sub=self.subject(user, client),
            aud=client_id,
            iat=now,
            exp=now + self.get_lifetime(),
        )
        auth_time, amr = self.get_sign_in(credential)
        if auth_time:
            claims["auth_time"] = auth_time
        sid = self.get_session_id(credential)
        if sid:
            claims["sid"] = sid
        if amr:
            # RFC 8176 values, as recorded at sign-in. No acr: this server defines no
            # authentication context classes, so it never claims one (acr_values is accepted).
            claims["amr"] = amr
        if code is not None:
            nonce = code.get_nonce() if hasattr(code, "get_nonce") else None
            if nonce:
                claims["nonce"] = nonce
        if isinstance(claims["aud"], list) and len(claims["aud"]) > 1:
            claims["azp"] = client_id
        at_hash = create_half_hash(token["access_token"], alg)
        claims["at_hash"] = at_hash.decode("ascii")
        kid, key = self.signing_key(alg)
        return jwt.encode({"alg": alg, "kid": kid, "typ": ID_TOKEN_TYPE}, claims, key, algorithms=[alg])


class OpenIDCode(_IDTokenIssuer, _AuthlibOpenIDCode):
    """OpenID Connect on the authorization code grant: the request checks and the ID token."""

    def __init__(self, *, require_nonce: bool = False, **options: Any) -> None:
        _IDTokenIssuer.__init__(self, **options)
        self.require_nonce = require_nonce

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        # The nonce binds the ID token to the relying party's session; spotting a replay is the
        # relying party's job (it compares the nonce it sent), so no server-side store is kept.
        return False

    def validate_openid_authorization_request(self, grant: Any, redirect_uri: str) -> None:
        """OIDC Core §3.1.2.2 on a request whose client and redirect URI are verified (so its
        errors are redirected to the client)."""
        data = grant.request.payload.data
        if data.get("request"):
            raise RequestNotSupportedError("Request objects are not supported; send plain parameters.")
        if data.get("request_uri"):
            raise RequestURINotSupportedError("request_uri is not supported; send plain parameters.")
        if not is_openid_request(grant.request.payload.scope):
            return
        super().validate_openid_authorization_request(grant, redirect_uri)
        prompts = (data.get("prompt") or "").split()
        if "none" in prompts and len(prompts) > 1:
            raise InvalidRequestError("prompt=none cannot be combined with other prompt values.")
        max_age = data.get("max_age")
        if max_age is not None and whole_number(max_age, maximum=MAX_MAX_AGE) is None:
            raise InvalidRequestError("max_age must be a whole number of seconds.")
        claims = parse_claims_request(data.get("claims"))  # stored with the code (save_authorization_code)
        if essential_acr_unmet(claims):
            # No `acr` is ever claimed (`_IDTokenIssuer`): an essential one with values fails.
            raise UnmetAuthenticationRequirementsError(
                "This server cannot assert the acr values the claims parameter requires."
            )

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)
        grant.register_hook(
            "after_validate_authorization_request_payload", self.validate_openid_authorization_request
        )


class OpenIDRefresh(_IDTokenIssuer):
    """A new ID token on refresh (OIDC Core §12.2) when the refreshed scope holds `openid`: same
    `sub`, the original `auth_time`, no `nonce`."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)


class OpenIDDevice(_IDTokenIssuer):
    """An ID token on the device-code grant (RFC 8628) when the approved scope holds `openid`,
    as on the code grant: the user who approved on the verification page is its `sub`; no
    `nonce` (the device authorization request has none) and no `auth_time` (the sign-in on
    the verification page is not recorded on the device authorization)."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)
