"""A token's revocation by one client (RFC 7009), in one statement with the rows that record it.

The conditional UPDATE revokes the token only if it is still active, so two revocations racing
for it write one `revoked_at` and one event; the loser learns it (`AlreadyRevoked`) and writes
nothing. Inside `riders.one_statement()` (PostgreSQL) it waits for its riders (its audit event)
and goes with them as one statement.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from django.db import connection

from server.hotpath import riders
from server.hotpath.prepared import database
from server.models import Token


class AlreadyRevoked(Exception):
    """The token was revoked by someone else between its lookup and its revocation."""


@cache
def _revoke_token_sql(vendor: str) -> str:
    del vendor  # the cache key
    q = connection.ops.quote_name
    return (
        f"UPDATE {q(Token._meta.db_table)} SET {q('revoked_at')} = %s, {q('revoked_by')} = %s, "  # noqa: S608
        f"{q('revoked_reason')} = %s WHERE id = %s AND {q('revoked_at')} IS NULL RETURNING id"
    )


def defer_revocation(token: Token, *, at: datetime, by: str, reason: str) -> None:
    """Inside `riders.one_statement()` (PostgreSQL): revoke `token` if it is still active, in
    one statement with the rows that record it, when the unit ends; `AlreadyRevoked` then if
    another revocation got there first (nothing is written)."""
    db = database()
    field = Token._meta.get_field("revoked_at")
    params = [field.get_db_prep_save(at, db), by, reason, token.pk]

    def done(row):
        if row is None:
            raise AlreadyRevoked(token.pk)

    riders.defer_fact(_revoke_token_sql(db.vendor), params, done)
