"""The indexes a token INSERT writes: every index of the token table is one more write per token
issued, so the table has no index that another already answers, and a client_credentials token
(no user, parent, code or refresh token) is written only into the ones it needs (server.0020)."""

import pytest
from django.db import connection

from server.models import Token

pytestmark = pytest.mark.django_db

TABLE = Token._meta.db_table


def _indexes() -> dict[str, tuple[tuple[str, ...], bool]]:
    """{name: (columns, partial)} of every index of the token table, the primary key's included."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND i.indpred IS NOT NULL",
                [TABLE],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = %s AND sql LIKE '%%WHERE%%'",
                [TABLE],
            )
        partial = {name for (name,) in cursor.fetchall()}
    return {
        name: (tuple(c["columns"]), name in partial)
        for name, c in constraints.items()
        if c["index"] or c["unique"] or c["primary_key"]
    }


def test_no_index_of_the_token_table_repeats_the_leading_columns_of_another():
    indexes = _indexes()
    repeated = [
        f"{name} {columns} is the start of {other} {other_columns}"
        for name, (columns, _) in indexes.items()
        for other, (other_columns, _) in indexes.items()
        if name != other and other_columns[: len(columns)] == columns and len(other_columns) > len(columns)
    ]
    assert not repeated, "\n".join(repeated)


def test_a_client_credentials_token_is_written_into_six_indexes():
    """Those on the access digest (its lookup), id (the primary key), client and issue time (the
    console's lists), issue time, family (refresh reuse) and expiry (cleartokens); the others are
    partial on a column such a token leaves empty."""
    written = {columns for columns, partial in _indexes().values() if not partial}
    assert written == {
        ("id",),
        ("access_token_digest",),
        ("client_id", "issued_at"),
        ("issued_at",),
        ("family_id",),
        ("expires_at", "client_id"),
    }
