"""The grants bound to our models: codes stored as digests and claimed by a conditional UPDATE,
refresh tokens rotated, and a replayed code or a reused refresh token revokes what it issued."""

from server import services
from server.bindings.lookups import digest_or_none
from server.claims import consentable_claims_for
from server.hotpath import sign_in, sql
from server.models import AuthorizationCode, Client, Token
from server.oauth2 import grants, id_tokens, logout
from server.oauth2.claims_request import parse_claims_request
from server.oauth2.errors import InvalidGrantError
from server.services.tokens import RefreshTokenRevoked


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """Codes stored as digests, claimed by a conditional UPDATE, kept until expiry so that a
    replay is recognised and revokes what the code issued."""

    def save_authorization_code(self, code: str, request) -> AuthorizationCode:
        data = request.payload.data
        session = getattr(request.django_request, "session", None)
        openid = id_tokens.is_openid_request(request.scope)
        # The OP session goes into the ID token (`sid`) and names the client for its logout.
        sid = logout.session_id_of(session, create=True) if openid else None
        # Checked by OpenIDCode when the request was validated; only with openid.
        claims = parse_claims_request(data.get("claims")) if openid else None
        return services.store_authorization_code(
            code=code,
            client=request.client,
            user=request.user,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope or "",
            code_challenge=data.get("code_challenge") or "",
            code_challenge_method=data.get("code_challenge_method") or "",
            nonce=data.get("nonce") or "",
            auth_time=id_tokens.auth_time_of(session),
            sid=sid or "",
            amr=id_tokens.amr_of(session),
            claims=claims,
            # A code is saved only once the person approved (or a remembered consent covers,
            # `consent_page.consent_covers`) the scope and exactly these claims, which the
            # consent page listed: the same function, on the same request.
            consented_claims=consentable_claims_for(claims, request.scope or "", request.client),
            audience=getattr(request, "resources", None) or [],
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = digest_or_none(code)
        if found is None:
            return None
        row = sign_in.code_by_digest(found)  # with its user, as select_related("user")
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
        found = digest_or_none(refresh_token)
        if found is None:
            return None
        row = sql.token_by_digest(found, by="refresh_token")
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
        # Claimed with a conditional UPDATE: of concurrent refreshes, one wins. One revoked since
        # it was read (a logout ending its session) is refused, and is no reuse to report.
        try:
            return services.rotate_refresh_token(refresh_token)
        except RefreshTokenRevoked:
            raise InvalidGrantError("The refresh token was revoked.") from None


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """authlib's client credentials grant with our scope check (no refresh token)."""
