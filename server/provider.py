"""The configured authorization server and resource protector, wired to our hashed models.

`server.oauth2` supplies the protocol machinery (model-agnostic, on authlib); this module
supplies what only this server knows: credentials are looked up by keyed digest, codes and
refresh tokens are claimed with conditional UPDATEs (so parallel redemptions have one winner),
a replayed code or a reused refresh token revokes what it issued, and only active clients get
tokens or have theirs honoured.
"""

import json

from django.conf import settings
from django.http import HttpRequest

from server import credentials, policies, services, statements
from server.actors import Actor
from server.models import MAX_CLIENT_ID_LENGTH, AuthorizationCode, Client, Token
from server.oauth2 import (
    AuthorizationServer,
    BearerTokenValidator,
    IntrospectionEndpoint,
    ResourceProtector,
    RevocationEndpoint,
    grants,
)
from server.oauth2.errors import InvalidClientError, InvalidRequestError, UnsupportedResponseTypeError
from server.registration.endpoints import ClientConfigurationEndpoint, ClientRegistrationEndpoint

MAX_CREDENTIAL_LENGTH = 512


def issuer_for(request: HttpRequest | None) -> str:
    """The issuer identifier: OAUTH2_ISSUER, else this request's scheme and host."""
    if settings.OAUTH2_ISSUER or request is None:
        return settings.OAUTH2_ISSUER
    return f"{request.scheme}://{request.get_host()}"


def query_client(client_id: str) -> Client | None:
    """The active client with this client_id. Pending, disabled and rejected clients are
    unknown to the protocol: they cannot authenticate, be authorized or get tokens."""
    if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
        return None
    # One query: the client and its unexpired secret digests, for check_client_secret.
    return statements.active_client(client_id)


def _only(rows):
    """The one row of a lookup on a unique column, or None. Unlike `.first()`, no ORDER BY:
    the unique index answers alone."""
    return next(iter(rows[:1]), None)


def _digest_or_none(value: str | None) -> str | None:
    if not value or len(value) > MAX_CREDENTIAL_LENGTH:
        return None
    return credentials.digest(value)


def _user_inactive(token: Token) -> bool:
    """True when the token acts for a user who is no longer active. The user came with the
    token's own lookup (`statements.token_by_digest` joins it), so this costs no query. Tokens
    without a user (client credentials) do not depend on one."""
    user = token.user
    return user is not None and not user.is_active


def save_token(token: dict, request) -> Token:
    """Store an issued token (digests only). The grant has already claimed the code or refresh
    token it was exchanged for, in the same transaction."""
    grant_type = request.grant_type
    credential = getattr(request, "credential", None)
    try:
        return services.store_token(
            token,
            client=request.client,
            user=request.user if grant_type != "client_credentials" else None,
            grant_type=grant_type,
            authorization_code=credential if grant_type == "authorization_code" else None,
            parent=credential if grant_type == "refresh_token" else None,
        )
    except statements.ClientGone:
        raise InvalidClientError(description="The client was deleted.") from None


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """Codes stored as digests, claimed by a conditional UPDATE, kept until expiry so that a
    replay is recognised and revokes what the code issued."""

    def validate_authorization_request(self) -> str:
        redirect_uri = super().validate_authorization_request()
        requested = self.request.payload.redirect_uri
        client = self.request.client
        if requested and not client.is_public and requested not in client.redirect_uri_list:
            # The any-port loopback rule (RFC 8252 §7.3) is for native apps, which are public
            # clients; a confidential client's loopback URI must match exactly (RFC 9700 §4.1.3).
            # No redirect_uri on the error: it is shown to the person, never redirected.
            raise InvalidRequestError("The redirect_uri is not registered for this client.")
        return redirect_uri

    def save_authorization_code(self, code: str, request) -> AuthorizationCode:
        data = request.payload.data
        return services.store_authorization_code(
            code=code,
            client=request.client,
            user=request.user,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope or "",
            code_challenge=data.get("code_challenge") or "",
            code_challenge_method=data.get("code_challenge_method") or "",
            nonce=data.get("nonce") or "",
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = _digest_or_none(code)
        if found is None:
            return None
        row = _only(AuthorizationCode.objects.select_related("user").filter(code_digest=found))
        if row is None or row.client_id != client.pk:
            return None
        if row.used_at is not None:
            # RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it.
            services.revoke_tokens_from_code(row)
            self.report_replayed_code(row)
            return None
        if row.is_expired():
            return None
        return row

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> bool:
        # Not deleted: marked used (one winner among concurrent exchanges), kept until expiry.
        return services.redeem_authorization_code(authorization_code)

    def authenticate_user(self, authorization_code: AuthorizationCode):
        return authorization_code.user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Refresh tokens looked up by digest and rotated; reuse of a rotated one revokes its family."""

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        found = _digest_or_none(refresh_token)
        if found is None:
            return None
        row = statements.token_by_digest(found, by="refresh_token")
        if row is None or row.client_id != getattr(self.request.client, "pk", None):
            return None
        if row.rotated_at is not None:
            # RFC 9700 §4.14.2: a rotated refresh token presented again has leaked (or the
            # client is confused); revoke the whole family so no copy stays usable.
            services.revoke_token_family(row)
            self.report_reused_refresh_token(row)
            return None
        if row.revoked_at is not None or row.is_refresh_token_expired():
            return None
        return row

    def authenticate_user(self, refresh_token: Token):
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: Token) -> bool:
        # Claimed with a conditional UPDATE: of concurrent refreshes, one wins.
        return services.rotate_refresh_token(refresh_token)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """authlib's client credentials grant with our scope check (no refresh token)."""


class TokenRevocation(RevocationEndpoint):
    """RFC 7009 over our digests. Revoking a refresh token ends its whole family (§2.1)."""

    def query_token(self, token: str, token_type_hint: str | None = None, client=None) -> Token | None:
        # One query on both digests: a hint only says where to look first (RFC 7009 §2.1), and
        # an OR of two unique indexes answers as fast as either.
        found = _digest_or_none(token)
        if found is None:
            return None
        return statements.token_by_digest(found, by="either")

    def revoke_token(self, token: Token, client=None) -> None:
        actor = Actor.client(token.client.client_id)
        if getattr(token, "matched_as", "") == "refresh_token":
            services.revoke_tokens(
                Token.objects.filter(family_id=token.family_id),
                actor=actor,
                reason="refresh token revoked by the client",
                criteria={"family_id": str(token.family_id)},
            )
        else:
            services.revoke_single_token(token, actor=actor, reason="revoked by the client")


class TokenIntrospection(IntrospectionEndpoint):
    """RFC 7662 over our digests; a client sees only its own tokens unless it may see all."""

    query_token = TokenRevocation.query_token

    def check_permission(self, token: Token, client: Client, request) -> bool:
        return client.can_introspect_any_token or token.client_id == client.pk

    def is_active(self, token: Token) -> bool:
        if token.revoked_at is not None or not token.client.is_active or _user_inactive(token):
            return False
        if token.matched_as == "refresh_token":
            return token.rotated_at is None and not token.is_refresh_token_expired()
        return not token.is_expired()

    def introspect_token(self, token: Token) -> dict:
        refresh = token.matched_as == "refresh_token"
        expires_at = token.refresh_expires_at if refresh else token.expires_at
        body = {
            "active": True,
            "scope": token.scope,
            "client_id": token.client.client_id,
            "token_type": "refresh_token" if refresh else "Bearer",
            "iat": int(token.issued_at.timestamp()),
        }
        if expires_at is not None:
            body["exp"] = int(expires_at.timestamp())
        if token.user is not None:
            body["username"] = token.user.get_username()
            body["sub"] = str(token.user.pk)
        return body


class TokenValidator(BearerTokenValidator):
    """Bearer check: one indexed query by digest joining client and user."""

    def authenticate_token(self, token_string: str) -> Token | None:
        found = _digest_or_none(token_string)
        if found is None:
            return None
        return statements.token_by_digest(found)

    def token_revoked(self, token: Token) -> bool:
        # A disabled client's tokens, and a deactivated user's, stop validating at once, even
        # when nothing revoked them (a bulk UPDATE of is_active sends no signal).
        return token.revoked_at is not None or not token.client.is_active or _user_inactive(token)

    def token_expired(self, token: Token) -> bool:
        return token.is_expired()

    def get_token_scopes(self, token: Token) -> list[str]:
        return token.scope.split()


class OurAuthorizationServer(AuthorizationServer):
    """The package's server; an authorization error is redirected only once a grant has
    validated the client and its redirect URI as a pair (RFC 9700 §4.11.2)."""

    def get_authorization_grant(self, request):
        try:
            return super().get_authorization_grant(request)
        except UnsupportedResponseTypeError as error:
            # No grant ran, so nothing checked the redirect URI against the client's rules
            # (exact match, the confidential-client loopback rule): anyone who registered a
            # client could use this error to bounce visitors to their site. Shown, not redirected.
            error.redirect_uri = None
            raise


def parameter_limits() -> dict[str, int]:
    """The longest value accepted per stored parameter: the length of the column that stores it
    (PostgreSQL refuses a longer value with a DataError; SQLite would store it)."""
    code = AuthorizationCode._meta
    return {
        "client_id": MAX_CLIENT_ID_LENGTH,
        "redirect_uri": policies.MAX_REDIRECT_URI_LENGTH,
        "nonce": code.get_field("nonce").max_length,
        "code_challenge": code.get_field("code_challenge").max_length,
        "code_challenge_method": code.get_field("code_challenge_method").max_length,
    }


def _build_server() -> AuthorizationServer:
    server = OurAuthorizationServer(
        query_client=query_client,
        save_token=save_token,
        parameter_limits=parameter_limits(),
        access_token_generator=lambda **_: credentials.generate("access_token"),
        refresh_token_generator=lambda **_: credentials.generate("refresh_token"),
    )
    server.register_grant(AuthorizationCodeGrant)
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(TokenRevocation)
    server.register_endpoint(TokenIntrospection)
    server.register_endpoint(ClientRegistrationEndpoint)
    server.register_endpoint(ClientConfigurationEndpoint)
    return server


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


authorization_server = _build_server()
require_oauth = OurResourceProtector()
require_oauth.register_token_validator(TokenValidator())
