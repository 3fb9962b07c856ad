"""The bearer-token check for protected resources (RFC 6750): the validator bound to our token
rows and the resource protector (`require_oauth`) that views use: this server's own API (the
default API of `server.apis`), which publishes its RFC 9728 metadata and accepts only tokens
whose audience (RFC 8707) includes it."""

import json

from server import apis, policies
from server.bindings.lookups import digest_or_none, user_inactive
from server.hotpath import sql
from server.models import Token
from server.oauth2 import BearerTokenValidator, ResourceProtector


class TokenValidator(BearerTokenValidator):
    """Bearer check: one indexed query by digest joining client and user."""

    def authenticate_token(self, token_string: str) -> Token | None:
        found = digest_or_none(token_string)
        if found is None:
            return None
        return sql.token_by_digest(found)

    def token_revoked(self, token: Token) -> bool:
        # A disabled client's tokens, and a deactivated user's, stop validating at once, even
        # when nothing revoked them (a bulk UPDATE of is_active sends no signal).
        return token.revoked_at is not None or not token.client.is_active or user_inactive(token)

    def token_expired(self, token: Token) -> bool:
        return token.is_expired()

    def get_token_scopes(self, token: Token) -> list[str]:
        return token.scope.split()

    def get_token_audience(self, token: Token, request) -> list[str]:
        # Never None: every token of ours is for some API (an empty audience: the default one).
        return apis.audience_of(token.audience, request)


class OurResourceProtector(ResourceProtector):
    """Speaks only RFC 6750's error codes: a request with no token at all keeps the bare
    `WWW-Authenticate: Bearer realm=...` challenge (§3.1), and its JSON body says `invalid_token`
    (as registration does) instead of authlib's own `missing_authorization`."""

    def error_response(self, request, error, scopes=None):
        response = super().error_response(request, error, scopes)
        if error.error == "missing_authorization":
            body = json.loads(response.content)
            body["error"] = "invalid_token"
            response.content = json.dumps(body).encode()
        return response


def _default_api_scopes() -> list[str]:
    return list(policies.configured_scopes())


require_oauth = OurResourceProtector(
    resource=apis.DEFAULT_API_PATH,
    scopes_supported=_default_api_scopes,
    resource_name=apis.DEFAULT_API_NAME,
)
require_oauth.register_token_validator(TokenValidator())
