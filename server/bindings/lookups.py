"""How the bindings find a credential: by keyed digest, never by the value itself, with the
shared checks every lookup makes."""

from server import credentials
from server.models import Token

# A JWT access token (RFC 9068) signed with RS256 is 550-800 characters; the bearer check
# accepts up to 4096 (`resource_protector.MAX_TOKEN_LENGTH`).
MAX_CREDENTIAL_LENGTH = 4096


def only_row(rows):
    """The one row of a lookup on a unique column, or None. Unlike `.first()`, no ORDER BY:
    the unique index answers alone."""
    return next(iter(rows[:1]), None)


def digest_or_none(value: str | None) -> str | None:
    if not value or len(value) > MAX_CREDENTIAL_LENGTH:
        return None
    return credentials.digest(value)


def user_inactive(token: Token) -> bool:
    """True when the token acts for a user who is no longer active. The user came with the
    token's own lookup (`sql.token_by_digest` joins it), so this costs no query. Tokens
    without a user (client credentials) do not depend on one."""
    user = token.user
    return user is not None and not user.is_active
