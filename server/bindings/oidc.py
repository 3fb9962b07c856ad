"""OpenID Connect bound to our models: the ID-token extensions with our managed signing keys and
claims hook, the UserInfo endpoint on our bearer check, the published keys."""

from server import selectors, services
from server.bindings.bearer import require_oauth
from server.claims import claims_for, subject_for
from server.issuer import issuer_for
from server.models import AuthorizationCode, Token
from server.oauth2 import id_tokens
from server.oauth2.userinfo import UserInfoEndpoint


def signing_key(alg: str):
    """(kid, private key) of the key that signs for `alg` now (made on first need)."""
    key = services.signing_key_for(alg)
    return key.kid, services.private_key_of(key)


def published_jwks() -> list[dict]:
    """The public JWKs the JWKS endpoint serves (and an id_token_hint is checked against)."""
    return [key.published_jwk() for key in selectors.published_signing_keys()]


_OPTIONS = {"signing_key": signing_key, "user_claims": claims_for, "subject": subject_for}


class OpenIDCode(id_tokens.OpenIDCode):
    """ID tokens on the code grant; `auth_time` from the code (`AuthorizationCode.auth_time`)."""

    def __init__(self) -> None:
        super().__init__(**_OPTIONS)


class OpenIDRefresh(id_tokens.OpenIDRefresh):
    """ID tokens on refresh; `auth_time`, `amr` and `sid` of the sign-in that started the token's family."""

    def __init__(self) -> None:
        super().__init__(**_OPTIONS)

    def get_sign_in(self, credential: Token) -> tuple[int | None, list[str] | None]:
        found = _family_sign_in(credential)
        auth_time, amr = found["auth_time"], found["amr"]
        return (int(auth_time.timestamp()) if auth_time else None), (amr.split() or None)

    def get_session_id(self, credential: Token) -> str | None:
        return _family_sign_in(credential)["sid"] or None


def _family_sign_in(credential: Token) -> dict:
    """The sign-in that started the token's family (its code's auth_time, amr and sid), read
    once per refresh."""
    found = getattr(credential, "_family_sign_in", None)
    if found is None:
        found = (
            AuthorizationCode.objects.filter(tokens__family_id=credential.family_id)
            .values("auth_time", "amr", "sid")
            .first()
        ) or {"auth_time": None, "amr": "", "sid": ""}
        credential._family_sign_in = found
    return found


class OpenIDDevice(id_tokens.OpenIDDevice):
    """ID tokens on the device-code grant, signed and filled as on the code grant."""

    def __init__(self) -> None:
        super().__init__(**_OPTIONS)


userinfo = UserInfoEndpoint(
    require_oauth, user_claims=claims_for, subject=subject_for, signing_key=signing_key, issuer=issuer_for
)
