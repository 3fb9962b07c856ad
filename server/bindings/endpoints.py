"""RFC 7009 revocation and RFC 7662 introspection over our token digests."""

from server import apis, services
from server.actors import Actor
from server.bindings.lookups import digest_or_none, user_inactive
from server.claims import subject_for
from server.hotpath import lookahead, sql
from server.models import Client, Token
from server.oauth2 import IntrospectionEndpoint, RevocationEndpoint


def _token_with_client(endpoint_response, *, served: bool = False):
    """Run the endpoint with the client's lookup fetching the named token in the same statement
    (`hotpath.lookahead`): one round trip to the database instead of two."""

    def create_endpoint_response(self, request):
        value = request.form.get("token")
        with lookahead.token_alongside_client(digest_or_none(value), served=served, value=value):
            return endpoint_response(self, request)

    return create_endpoint_response


class TokenRevocation(RevocationEndpoint):
    """RFC 7009 over our digests. Revoking a refresh token ends its whole family (§2.1)."""

    create_endpoint_response = _token_with_client(RevocationEndpoint.create_endpoint_response)

    def query_token(self, token: str, token_type_hint: str | None = None, client=None) -> Token | None:
        # One statement for both digests: a hint only says where to look first (RFC 7009 §2.1),
        # and the statement probes each unique digest index in turn (`sql._token_sql`); usually
        # run already, with the client's lookup.
        found = lookahead.digest_of(token) or digest_or_none(token)
        if found is None:
            return None
        token_row = lookahead.fetched(found)
        if token_row is not lookahead.NOT_FETCHED:
            return token_row
        return sql.token_by_digest(found, by="either")

    def revoke_token(self, token: Token, client=None) -> None:
        actor = Actor.client(token.client.client_id)
        # The endpoint then sends the spec's `token_revoked`: the one event for this revocation.
        if getattr(token, "matched_as", "") == "refresh_token":
            services.revoke_refresh_token_family(
                token, actor=actor, reason="refresh token revoked by the client"
            )
        else:
            services.revoke_single_token(token, actor=actor, reason="revoked by the client")


class TokenIntrospection(IntrospectionEndpoint):
    """RFC 7662 over our digests; a client sees only its own tokens unless it may see all.

    A client named as a resource server of APIs (`Api.resource_servers`) sees the tokens for
    those APIs, and only those: whatever its `can_introspect_any_token`, a token whose audience
    names none of its APIs is inactive to it (docs/resources.md)."""

    create_endpoint_response = _token_with_client(IntrospectionEndpoint.create_endpoint_response, served=True)

    def query_token(self, token: str, token_type_hint: str | None = None, client=None) -> Token | None:
        found = lookahead.digest_of(token) or digest_or_none(token)
        if found is None:
            return None
        # Usually fetched already, with the client's lookup (`hotpath.lookahead`), the asker's
        # APIs with it; else one statement reads the token and the asker's APIs.
        asker = getattr(client, "pk", None)
        fetched = lookahead.fetched(found)
        if fetched is None or (
            fetched is not lookahead.NOT_FETCHED and getattr(fetched, "served_by", None) == asker
        ):
            return fetched
        return sql.token_by_digest(found, by="either", served_by=asker)

    def check_permission(self, token: Token, client: Client, request) -> bool:
        if getattr(token, "served_apis", None):
            # The audience rule (`meant_for`) decides: tokens for the APIs it serves.
            return True
        return client.can_introspect_any_token or token.client_id == client.pk

    def get_served_resources(self, token: Token, client: Client, request) -> list[str] | None:
        return getattr(token, "served_apis", None) or None

    def is_active(self, token: Token) -> bool:
        if token.revoked_at is not None or not token.client.is_active or user_inactive(token):
            return False
        if token.matched_as == "refresh_token":
            return token.rotated_at is None and not token.is_refresh_token_expired()
        return not token.is_expired()

    def get_token_audience(self, token: Token, request) -> list[str]:
        return apis.audience_of(token.audience, request)

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
            # The sub the token's client knows the user by (pairwise for a pairwise client).
            body["sub"] = subject_for(token.user, token.client)
        return body
